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
