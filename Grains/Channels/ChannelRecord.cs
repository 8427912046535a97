using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Channels;

/// <summary>What a session channel saves in durable (cluster) mode so that it survives its silo: its tasks and how far a reader has
/// read each, text contexts, the sequence reached, and the marks of events a reader may hold beyond what it acknowledged.</summary>
[GenerateSerializer]
public sealed class ChannelRecord
{
    [Id(0)] public long LastSequence { get; set; }

    [Id(1)] public long Order { get; set; }

    [Id(2)] public List<ChannelItemRecord> Items { get; } = [];

    [Id(3)] public List<TextContextRecord> Contexts { get; } = [];

    [Id(4)] public long ReadThrough { get; set; }

    [Id(5)] public List<EventMark> Marks { get; } = [];
}

/// <summary>A text context: its settings, the text not yet spoken, its tasks still open, and whether the client ended it.</summary>
[GenerateSerializer, Immutable]
public sealed record TextContextRecord(
    [property: Id(0)] string Id,
    [property: Id(1)] TextContextOptions Options,
    [property: Id(2)] string? Language,
    [property: Id(3)] string Buffered,
    [property: Id(4)] int OpenTasks,
    [property: Id(5)] bool Ended);
