using NAudio.Wave;

namespace MitTts.Tests.Support;

/// <summary>Decoded 16-bit mono audio and the measurements the tests assert on.</summary>
public sealed record Pcm(short[] Samples, int SampleRate, int Channels)
{
    public double DurationSeconds => (double)Samples.Length / SampleRate;

    /// <summary>Root mean square level, 0..1 of full scale.</summary>
    public double Rms
    {
        get
        {
            double sum = 0;
            foreach (var s in Samples)
            {
                sum += (double)s * s;
            }

            return Samples.Length == 0 ? 0 : Math.Sqrt(sum / Samples.Length) / short.MaxValue;
        }
    }

    /// <summary>Reads a WAV file with NAudio's reader, an implementation independent of ours.</summary>
    public static Pcm FromWav(byte[] wav)
    {
        using var reader = new WaveFileReader(new MemoryStream(wav));
        Assert.Equal(WaveFormatEncoding.Pcm, reader.WaveFormat.Encoding);
        Assert.Equal(16, reader.WaveFormat.BitsPerSample);
        var bytes = new byte[reader.Length];
        var read = reader.Read(bytes, 0, bytes.Length);
        Assert.Equal(bytes.Length, read);
        return new Pcm(FromS16Le(bytes), reader.WaveFormat.SampleRate, reader.WaveFormat.Channels);
    }

    public static short[] FromS16Le(ReadOnlySpan<byte> bytes)
    {
        var samples = new short[bytes.Length / 2];
        for (var i = 0; i < samples.Length; i++)
        {
            samples[i] = (short)(bytes[2 * i] | (bytes[(2 * i) + 1] << 8));
        }

        return samples;
    }

    /// <summary>Correlation of the loudness envelopes (RMS per frame): same speech, insensitive to phase and to shifts well under a frame.</summary>
    public static double EnvelopeCorrelation(short[] a, short[] b, int sampleRate, int frameMs = 20)
    {
        static short[] Envelope(short[] x, int frame)
        {
            var envelope = new short[x.Length / frame];
            for (var f = 0; f < envelope.Length; f++)
            {
                double sum = 0;
                for (var i = f * frame; i < (f + 1) * frame; i++)
                {
                    sum += (double)x[i] * x[i];
                }

                envelope[f] = (short)Math.Sqrt(sum / frame);
            }

            return envelope;
        }

        var frame = sampleRate * frameMs / 1000;
        return Correlation(Envelope(a, frame), Envelope(b, frame));
    }

    /// <summary>Normalized correlation of two signals over their common length (1 = identical shape).</summary>
    public static double Correlation(short[] a, short[] b)
    {
        var n = Math.Min(a.Length, b.Length);
        double ab = 0, aa = 0, bb = 0;
        for (var i = 0; i < n; i++)
        {
            ab += (double)a[i] * b[i];
            aa += (double)a[i] * a[i];
            bb += (double)b[i] * b[i];
        }

        return aa == 0 || bb == 0 ? 0 : ab / Math.Sqrt(aa * bb);
    }
}
