using System.Buffers;
using Concentus;

namespace MitTts.Speech.Audio;

/// <summary>Band-limited sample-rate conversion of one mono stream, chunk by chunk (Concentus's port of the Speex resampler).</summary>
/// <remarks>State carries across chunks, so joined output has no seams; the filter's start latency is skipped and the tail
/// flushed by <see cref="Flush"/>, so the output is time-aligned and exactly <c>input × out/in</c> samples long.</remarks>
public sealed class StreamingResampler : IDisposable
{
    private const int Quality = 5;

    private readonly IResampler _resampler;
    private readonly int _inputRate;
    private readonly int _outputRate;
    private short[] _input = [];
    private short[] _output = [];
    private long _consumed;
    private long _produced;

    public StreamingResampler(int inputRate, int outputRate)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputRate);
        _inputRate = inputRate;
        _outputRate = outputRate;
        _resampler = ResamplerFactory.CreateResampler(1, inputRate, outputRate, Quality);
        _resampler.SkipZeroes();
    }

    public int InputRate => _inputRate;

    public int OutputRate => _outputRate;

    /// <summary>Resamples <paramref name="samples"/>; the result is valid until the next call.</summary>
    public ReadOnlySpan<short> Process(ReadOnlySpan<short> samples)
    {
        _consumed += samples.Length;
        return Run(samples, ExpectedOutput(_consumed));
    }

    /// <summary>The samples still inside the filter, completing the stream to its exact length.</summary>
    public ReadOnlySpan<short> Flush()
    {
        var expected = ExpectedOutput(_consumed);
        var missing = expected - _produced;
        if (missing <= 0)
        {
            return [];
        }

        // Zeros push the filter's tail out; twice the latency is always enough.
        Span<short> zeros = stackalloc short[Math.Max(_resampler.InputLatency * 2, 64)];
        return Run(zeros, expected);
    }

    /// <summary>Converts a whole signal in one call.</summary>
    public static short[] ResampleWhole(ReadOnlySpan<short> samples, int inputRate, int outputRate)
    {
        if (inputRate == outputRate)
        {
            return samples.ToArray();
        }

        using var resampler = new StreamingResampler(inputRate, outputRate);
        var head = resampler.Process(samples);
        var result = new short[resampler.ExpectedOutput(samples.Length)];
        head.CopyTo(result);
        resampler.Flush().CopyTo(result.AsSpan(head.Length));
        return result;
    }

    public void Dispose()
    {
        Return(ref _input);
        Return(ref _output);
    }

    private long ExpectedOutput(long inputSamples) => ((inputSamples * _outputRate) + (_inputRate / 2)) / _inputRate;

    private ReadOnlySpan<short> Run(scoped ReadOnlySpan<short> samples, long limit)
    {
        Ensure(ref _input, samples.Length);
        Ensure(ref _output, (int)((long)samples.Length * _outputRate / _inputRate) + 256);
        samples.CopyTo(_input);
        var inputLeft = samples.Length;
        var inputOffset = 0;
        var written = 0;
        while (inputLeft > 0)
        {
            var inLength = inputLeft;
            var outLength = _output.Length - written;
            _resampler.Process(0, _input.AsSpan(inputOffset, inputLeft), ref inLength, _output.AsSpan(written), ref outLength);
            inputOffset += inLength;
            inputLeft -= inLength;
            written += outLength;
            if (inLength == 0 && outLength == 0)
            {
                break;
            }

            if (written == _output.Length)
            {
                Grow(ref _output, written);
            }
        }

        var keep = (int)Math.Clamp(limit - _produced, 0, written);
        _produced += keep;
        return _output.AsSpan(0, keep);
    }

    private static void Ensure(ref short[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            Return(ref buffer);
            buffer = ArrayPool<short>.Shared.Rent(length);
        }
    }

    private static void Grow(ref short[] buffer, int keep)
    {
        var grown = ArrayPool<short>.Shared.Rent(buffer.Length * 2);
        buffer.AsSpan(0, keep).CopyTo(grown);
        Return(ref buffer);
        buffer = grown;
    }

    private static void Return(ref short[] buffer)
    {
        if (buffer.Length > 0)
        {
            ArrayPool<short>.Shared.Return(buffer);
        }

        buffer = [];
    }
}
