using System.Buffers;

namespace MitTts.Speech.Engines.Onnx;

/// <summary>Hands a model's float audio (-1..1) to a sink as 16-bit PCM, in buffers of a fixed size.</summary>
internal static class FloatPcm
{
    // About 93 ms at 22050 Hz: small enough for the sink to stream, large enough that the per-buffer cost is nothing.
    private const int BufferSamples = 2048;

    /// <summary>Writes <paramref name="audio"/> times <paramref name="gain"/> to <paramref name="sink"/>.</summary>
    public static void Write(ReadOnlySpan<float> audio, IPcmSink sink, float gain, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<short>.Shared.Rent(BufferSamples);
        try
        {
            for (var offset = 0; offset < audio.Length; offset += BufferSamples)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var chunk = audio.Slice(offset, Math.Min(BufferSamples, audio.Length - offset));
                var pcm = buffer.AsSpan(0, chunk.Length);
                Convert(chunk, pcm, gain);
                sink.Write(pcm);
            }
        }
        finally
        {
            ArrayPool<short>.Shared.Return(buffer);
        }
    }

    /// <summary>Scales by 32767 (and the gain) and rounds, clipping what lies outside -1..1 (VITS output can overshoot a little).</summary>
    public static void Convert(ReadOnlySpan<float> audio, Span<short> pcm, float gain = 1f)
    {
        var scale = gain * short.MaxValue;
        for (var i = 0; i < audio.Length; i++)
        {
            pcm[i] = (short)Math.Clamp(MathF.Round(audio[i] * scale), short.MinValue, short.MaxValue);
        }
    }

    /// <summary>The gain that brings the loudest sample to full scale, as Piper normalizes each sentence (a peak below 0.01 counts as
    /// 0.01, so near-silence is not blown up into noise).</summary>
    public static float PeakGain(ReadOnlySpan<float> audio)
    {
        var peak = 0f;
        foreach (var sample in audio)
        {
            peak = MathF.Max(peak, MathF.Abs(sample));
        }

        return 1f / MathF.Max(0.01f, peak);
    }
}
