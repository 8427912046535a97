namespace MitTts.Tests.Support;

/// <summary>What the audio tests measure on decoded audio: likeness to the source, and clicks at chunk boundaries.</summary>
public static class AudioMeasures
{
    /// <summary>The best correlation of two loudness envelopes (RMS per 10 ms, each at its own rate) over shifts up to
    /// <paramref name="maxLagMs"/>, and the shift that gives it (positive: <paramref name="decoded"/> is late).</summary>
    public static (double Correlation, int LagMs) EnvelopeMatch(Pcm source, Pcm decoded, int maxLagMs = 100)
    {
        const int frameMs = 10;
        var a = Envelope(source);
        var b = Envelope(decoded);
        var best = (Correlation: double.MinValue, LagMs: 0);
        for (var lag = -maxLagMs / frameMs; lag <= maxLagMs / frameMs; lag++)
        {
            var c = Correlation(a, b, lag);
            if (c > best.Correlation)
            {
                best = (c, lag * frameMs);
            }
        }

        return best;

        static double[] Envelope(Pcm pcm)
        {
            var frame = pcm.SampleRate * frameMs / 1000;
            var envelope = new double[pcm.Samples.Length / frame];
            for (var f = 0; f < envelope.Length; f++)
            {
                double sum = 0;
                for (var i = f * frame; i < (f + 1) * frame; i++)
                {
                    sum += (double)pcm.Samples[i] * pcm.Samples[i];
                }

                envelope[f] = Math.Sqrt(sum / frame);
            }

            return envelope;
        }
    }

    /// <summary>Pearson correlation of <paramref name="a"/> with <paramref name="b"/> shifted by <paramref name="lag"/>.</summary>
    private static double Correlation(double[] a, double[] b, int lag)
    {
        var start = Math.Max(0, -lag);
        var n = Math.Min(a.Length, b.Length - lag) - start;
        if (n < 10)
        {
            return 0;
        }

        double ma = 0, mb = 0;
        for (var i = start; i < start + n; i++)
        {
            ma += a[i];
            mb += b[i + lag];
        }

        ma /= n;
        mb /= n;
        double ab = 0, aa = 0, bb = 0;
        for (var i = start; i < start + n; i++)
        {
            var x = a[i] - ma;
            var y = b[i + lag] - mb;
            ab += x * y;
            aa += x * x;
            bb += y * y;
        }

        return aa == 0 || bb == 0 ? 0 : ab / Math.Sqrt(aa * bb);
    }

    /// <summary>Pearson correlation of two signals sample by sample (each centred on its mean, normalized by its energy), over
    /// exactly equal lengths: 1 for the same waveform at any gain; ~0 for byte-swapped samples, noise or a shifted copy; 0 when
    /// either is constant (a zeroed buffer).</summary>
    public static double CentredCorrelation(ReadOnlySpan<short> a, ReadOnlySpan<short> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"lengths differ: {a.Length} vs {b.Length}; correlating a common prefix would hide a cut or a pad", nameof(b));
        }

        double ma = 0, mb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            ma += a[i];
            mb += b[i];
        }

        ma /= Math.Max(1, a.Length);
        mb /= Math.Max(1, b.Length);
        double ab = 0, aa = 0, bb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            var x = a[i] - ma;
            var y = b[i] - mb;
            ab += x * y;
            aa += x * x;
            bb += y * y;
        }

        return aa == 0 || bb == 0 ? 0 : ab / Math.Sqrt(aa * bb);
    }

    /// <summary>Compares <paramref name="actual"/> with the <paramref name="expected"/> samples: same length, centred correlation,
    /// and whether every sample is equal.</summary>
    public static PcmComparison Compare(ReadOnlySpan<short> expected, ReadOnlySpan<short> actual) => expected.Length != actual.Length
        ? new PcmComparison(expected.Length, actual.Length, 0, Identical: false)
        : new PcmComparison(expected.Length, actual.Length, CentredCorrelation(expected, actual), expected.SequenceEqual(actual));

    /// <summary>The fundamental frequency (Hz) of each voiced frame (40 ms, every 20 ms), by normalized autocorrelation.</summary>
    /// <remarks>Above 16 kHz the signal is first halved in rate (pairs averaged; F0 lies far below either Nyquist) to keep this
    /// fast. A frame is voiced when its RMS is over a tenth of the loudest frame's and its autocorrelation peaks above 0.6 in
    /// 60..400 Hz (noise and byte-swapped samples stay far below); the first local peak within 90 % of the best wins, which
    /// keeps the estimate from dropping an octave to a multiple of the period.</remarks>
    public static double[] VoicedF0(ReadOnlySpan<short> samples, int sampleRate, double minHz = 60, double maxHz = 400)
    {
        var step = sampleRate > 16000 ? 2 : 1;
        var rate = (double)sampleRate / step;
        var x = new double[samples.Length / step];
        for (var i = 0; i < x.Length; i++)
        {
            x[i] = step == 1 ? samples[i] : (samples[2 * i] + samples[(2 * i) + 1]) / 2.0;
        }

        var frame = (int)(rate * 0.040);
        var hop = (int)(rate * 0.020);
        var minLag = (int)(rate / maxHz);
        var maxLag = (int)(rate / minHz);
        var frames = Math.Max(0, (x.Length - frame - maxLag) / hop);
        var energies = new double[frames];
        for (var f = 0; f < frames; f++)
        {
            energies[f] = Dot(x.AsSpan(f * hop, frame), x.AsSpan(f * hop, frame));
        }

        var loudest = frames == 0 ? 0 : energies.Max();
        var r = new double[maxLag + 1];
        var result = new List<double>();
        for (var f = 0; f < frames; f++)
        {
            if (energies[f] == 0 || energies[f] < loudest / 100)
            {
                continue;
            }

            var here = x.AsSpan(f * hop, frame);
            var best = 0.0;
            for (var lag = minLag - 1; lag <= maxLag; lag++)
            {
                var there = x.AsSpan((f * hop) + lag, frame);
                var energy = Dot(there, there);
                r[lag] = energy == 0 ? 0 : Dot(here, there) / Math.Sqrt(energies[f] * energy);
                best = Math.Max(best, r[lag]);
            }

            if (best < 0.6)
            {
                continue;
            }

            for (var lag = minLag; lag < maxLag; lag++)
            {
                if (r[lag] >= 0.9 * best && r[lag] >= r[lag - 1] && r[lag] >= r[lag + 1])
                {
                    // Parabolic interpolation between lags.
                    var denominator = r[lag - 1] - (2 * r[lag]) + r[lag + 1];
                    var offset = denominator == 0 ? 0 : 0.5 * (r[lag - 1] - r[lag + 1]) / denominator;
                    result.Add(rate / (lag + offset));
                    break;
                }
            }
        }

        return [.. result];

        static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
        {
            var width = System.Numerics.Vector<double>.Count;
            var sum = System.Numerics.Vector<double>.Zero;
            var i = 0;
            for (; i <= a.Length - width; i += width)
            {
                sum += new System.Numerics.Vector<double>(a[i..]) * new System.Numerics.Vector<double>(b[i..]);
            }

            var total = System.Numerics.Vector.Sum(sum);
            for (; i < a.Length; i++)
            {
                total += a[i] * b[i];
            }

            return total;
        }
    }

    /// <summary>The median fundamental frequency over the voiced frames, and the share of all frames that are voiced.</summary>
    public static (double MedianHz, double VoicedShare) Pitch(ReadOnlySpan<short> samples, int sampleRate, double minHz = 60, double maxHz = 400)
    {
        var f0 = VoicedF0(samples, sampleRate, minHz, maxHz);
        var rate = sampleRate > 16000 ? sampleRate / 2.0 : sampleRate;
        var frames = Math.Max(1, ((samples.Length / (sampleRate > 16000 ? 2 : 1)) - (int)(rate * 0.040) - (int)(rate / minHz)) / (int)(rate * 0.020));
        if (f0.Length == 0)
        {
            return (0, 0);
        }

        Array.Sort(f0);
        return (f0[f0.Length / 2], (double)f0.Length / frames);
    }

    /// <summary>The chunk boundaries (sample indexes of <paramref name="decoded"/>) where the step between two samples is
    /// larger than the signal's own steps nearby allow: a click the chunking made.</summary>
    public static List<int> Clicks(short[] decoded, IEnumerable<int> boundaries, int window = 48, double tolerance = 2.0)
    {
        var clicks = new List<int>();
        foreach (var b in boundaries)
        {
            if (b < window + 1 || b + window >= decoded.Length)
            {
                continue;
            }

            var step = Math.Abs(decoded[b] - decoded[b - 1]);
            var nearby = 0;
            for (var i = b - window; i < b + window; i++)
            {
                if (i != b)
                {
                    nearby = Math.Max(nearby, Math.Abs(decoded[i] - decoded[i - 1]));
                }
            }

            // 64 LSB absorbs the quantization noise of near-silence.
            if (step > (tolerance * nearby) + 64)
            {
                clicks.Add(b);
            }
        }

        return clicks;
    }

    /// <summary>Maps source sample indexes to the indexes of a stream at another rate, shifted by <paramref name="offset"/> samples.</summary>
    public static IEnumerable<int> AtRate(IEnumerable<int> indexes, int fromRate, int toRate, int offset = 0) =>
        indexes.Select(i => (int)Math.Round((double)i * toRate / fromRate) + offset);

    /// <summary>The dominant frequency of a tone, from its zero crossings.</summary>
    public static double ZeroCrossingFrequency(short[] samples, int sampleRate)
    {
        var crossings = 0;
        for (var i = 1; i < samples.Length; i++)
        {
            if ((samples[i - 1] < 0) != (samples[i] < 0))
            {
                crossings++;
            }
        }

        return crossings / 2.0 / ((double)samples.Length / sampleRate);
    }
}

/// <summary>What <see cref="AudioMeasures.Compare"/> found.</summary>
public readonly record struct PcmComparison(int ExpectedLength, int ActualLength, double CentredCorrelation, bool Identical)
{
    /// <summary>The same samples up to rounding: equal lengths and a centred correlation of at least 0.999 (a one-sample shift of
    /// speech at 22050 Hz scores well below that).</summary>
    public bool SameAudio => ExpectedLength == ActualLength && CentredCorrelation >= 0.999;

    public override string ToString() =>
        $"lengths {ExpectedLength} vs {ActualLength}, centred correlation {CentredCorrelation:F4}, identical {Identical}";
}
