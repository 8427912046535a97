using MitTts.Speech.Engines;

namespace MitTts.Tests.Support;

/// <summary>Keeps every sample an engine hands over, and counts the buffers.</summary>
public sealed class CollectingSink : IPcmSink
{
    private readonly List<short> _samples = [];

    public int Buffers { get; private set; }

    public short[] Samples => [.. _samples];

    public void Write(ReadOnlySpan<short> samples)
    {
        Buffers++;
        foreach (var s in samples)
        {
            _samples.Add(s);
        }
    }
}
