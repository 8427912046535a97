using System.Buffers;
using MitTts.Speech.Engines;

namespace MitTts.Speech.Audio;

/// <summary>Collects an engine's PCM into one growing pooled buffer.</summary>
public sealed class PcmBuffer : IPcmSink, IDisposable
{
    private short[] _samples;
    private int _count;

    public PcmBuffer(int initialCapacity = 16 * 1024)
    {
        _samples = ArrayPool<short>.Shared.Rent(Math.Max(initialCapacity, 256));
    }

    /// <summary>The samples written so far.</summary>
    public ReadOnlySpan<short> Samples => _samples.AsSpan(0, _count);

    public int Count => _count;

    public void Write(ReadOnlySpan<short> samples)
    {
        if (_count + samples.Length > _samples.Length)
        {
            var grown = ArrayPool<short>.Shared.Rent(Math.Max(_samples.Length * 2, _count + samples.Length));
            _samples.AsSpan(0, _count).CopyTo(grown);
            ArrayPool<short>.Shared.Return(_samples);
            _samples = grown;
        }

        samples.CopyTo(_samples.AsSpan(_count));
        _count += samples.Length;
    }

    /// <summary>Empties the buffer, keeping its memory for the next samples.</summary>
    public void Clear() => _count = 0;

    public void Dispose()
    {
        ArrayPool<short>.Shared.Return(_samples);
        _samples = [];
        _count = 0;
    }
}
