using System.Buffers;
using System.Collections.Concurrent;
using Concentus;

namespace MitTts.Speech.Audio;

/// <summary>Band-limited sample-rate conversion of one mono stream, chunk by chunk (Concentus's port of the Speex resampler).</summary>
/// <remarks>State carries across chunks, so joined output has no seams; the filter's start latency is skipped and the tail
/// flushed by <see cref="Flush"/>, so the output is time-aligned and exactly <c>input × out/in</c> samples long.
/// Samples go through the resampler's float entry point: its 16-bit one allocates a scratch array on every call, and this
/// runs once per streamed chunk. The conversion back is the one that 16-bit path makes, so the samples are the same.
/// <para>Building a converter computes its filter table (about 1 ms for 22.05 → 48 kHz, which every Opus stream needs before its
/// first page); a disposed stream's converter is reset to a new one's state and kept for the next stream of the same rates, up to
/// <see cref="MaxPooledPerRates"/> per pair.</para></remarks>
public sealed class StreamingResampler : IDisposable
{
    private const int Quality = 5;

    /// <summary>Converters kept per pair of rates: enough for the streams a silo starts at once; each holds its filter table (about
    /// 100 KB for 22.05 → 48 kHz).</summary>
    internal const int MaxPooledPerRates = 32;

    private static readonly ConcurrentDictionary<(int Input, int Output), ConcurrentBag<IResampler>> s_pool = new();

    private IResampler? _resampler;
    private readonly int _inputRate;
    private readonly int _outputRate;
    private float[] _input = [];
    private float[] _resampled = [];
    private short[] _output = [];
    private long _consumed;
    private long _produced;

    public StreamingResampler(int inputRate, int outputRate)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputRate);
        _inputRate = inputRate;
        _outputRate = outputRate;
        if (s_pool.TryGetValue((inputRate, outputRate), out var kept) && kept.TryTake(out var reused))
        {
            _resampler = reused;
            return;
        }

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
        Span<short> zeros = stackalloc short[Math.Max(Converter.InputLatency * 2, 64)];
        return Run(zeros, expected);
    }

    /// <summary>Converts a whole signal in one call.</summary>
    public static short[] ResampleWhole(ReadOnlySpan<short> samples, int inputRate, int outputRate)
    {
        var result = new short[WholeLength(samples.Length, inputRate, outputRate)];
        ResampleWhole(samples, inputRate, outputRate, result);
        return result;
    }

    /// <summary>Converts a whole signal into <paramref name="destination"/>, at least <see cref="WholeLength"/> long; returns the samples written.</summary>
    public static int ResampleWhole(ReadOnlySpan<short> samples, int inputRate, int outputRate, Span<short> destination)
    {
        if (inputRate == outputRate)
        {
            samples.CopyTo(destination);
            return samples.Length;
        }

        using var resampler = new StreamingResampler(inputRate, outputRate);
        var head = resampler.Process(samples);
        head.CopyTo(destination);
        var tail = resampler.Flush();
        tail.CopyTo(destination[head.Length..]);
        return head.Length + tail.Length;
    }

    /// <summary>How many samples a whole signal of <paramref name="length"/> samples becomes.</summary>
    public static int WholeLength(int length, int inputRate, int outputRate) => (int)Convert(length, inputRate, outputRate);

    private static long Convert(long length, int inputRate, int outputRate) => ((length * outputRate) + (inputRate / 2)) / inputRate;

    public void Dispose()
    {
        Return(ref _input);
        Return(ref _resampled);
        Return(ref _output);
        if (Interlocked.Exchange(ref _resampler, null) is not { } resampler)
        {
            return;
        }

        // Back to a new converter's state: its history zeroed, its start latency skipped again.
        var kept = s_pool.GetOrAdd((_inputRate, _outputRate), static _ => []);
        if (kept.Count < MaxPooledPerRates)
        {
            resampler.ResetMem();
            resampler.SkipZeroes();
            kept.Add(resampler);
        }
    }

    private long ExpectedOutput(long inputSamples) => Convert(inputSamples, _inputRate, _outputRate);

    /// <summary>How many converters for this pair of rates wait for a stream.</summary>
    internal static int Pooled(int inputRate, int outputRate) => s_pool.TryGetValue((inputRate, outputRate), out var kept) ? kept.Count : 0;

    private IResampler Converter => _resampler ?? throw new ObjectDisposedException(nameof(StreamingResampler));

    private ReadOnlySpan<short> Run(scoped ReadOnlySpan<short> samples, long limit)
    {
        Ensure(ref _input, samples.Length);
        Ensure(ref _resampled, (int)((long)samples.Length * _outputRate / _inputRate) + 256);
        for (var i = 0; i < samples.Length; i++)
        {
            _input[i] = samples[i];
        }

        var inputLeft = samples.Length;
        var inputOffset = 0;
        var written = 0;
        while (inputLeft > 0)
        {
            var inLength = inputLeft;
            var outLength = _resampled.Length - written;
            Converter.Process(0, _input.AsSpan(inputOffset, inputLeft), ref inLength, _resampled.AsSpan(written), ref outLength);
            inputOffset += inLength;
            inputLeft -= inLength;
            written += outLength;
            if (inLength == 0 && outLength == 0)
            {
                break;
            }

            if (written == _resampled.Length)
            {
                Grow(ref _resampled, written);
            }
        }

        var keep = (int)Math.Clamp(limit - _produced, 0, written);
        _produced += keep;
        Ensure(ref _output, keep);
        for (var i = 0; i < keep; i++)
        {
            _output[i] = ToSample(_resampled[i]);
        }

        return _output.AsSpan(0, keep);
    }

    /// <summary>Saturate to 16 bits and truncate, as Concentus's own 16-bit path does, so the output is unchanged by the switch.</summary>
    private static short ToSample(float value) => (short)Math.Clamp(value, short.MinValue, short.MaxValue);

    private static void Ensure<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            Return(ref buffer);
            buffer = ArrayPool<T>.Shared.Rent(length);
        }
    }

    private static void Grow<T>(ref T[] buffer, int keep)
    {
        var grown = ArrayPool<T>.Shared.Rent(buffer.Length * 2);
        buffer.AsSpan(0, keep).CopyTo(grown);
        Return(ref buffer);
        buffer = grown;
    }

    private static void Return<T>(ref T[] buffer)
    {
        if (buffer.Length > 0)
        {
            ArrayPool<T>.Shared.Return(buffer);
        }

        buffer = [];
    }
}
