using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Channels;

/// <summary>What a session channel saves so that it survives its silo: unfinished tasks, text contexts and the sequence reached.</summary>
[GenerateSerializer]
public sealed class ChannelRecord
{
    [Id(0)] public long LastSequence { get; set; }

    [Id(1)] public long Order { get; set; }

    [Id(2)] public List<ChannelItemRecord> Items { get; } = [];

    [Id(3)] public List<TextContextRecord> Contexts { get; } = [];

    /// <summary>Saved on deactivation, so <see cref="LastSequence"/> is exact and numbering needs no gap.</summary>
    [Id(4)] public bool CleanShutdown { get; set; }
}

/// <summary>A task of the channel: who it is, its place in line, how far a reader has read it (the sentence, and bytes into it), and
/// whether it holds the socket.</summary>
[GenerateSerializer, Immutable]
public sealed record ChannelItemRecord(
    [property: Id(0)] ChannelTaskInfo Info,
    [property: Id(1)] Priority Priority,
    [property: Id(2)] long Order,
    [property: Id(3)] int ReadSentences,
    [property: Id(5)] long ReadBytes,
    [property: Id(4)] bool Current);

/// <summary>A text context: its settings, the text not yet spoken, its tasks still open, and whether the client ended it.</summary>
[GenerateSerializer, Immutable]
public sealed record TextContextRecord(
    [property: Id(0)] string Id,
    [property: Id(1)] TextContextOptions Options,
    [property: Id(2)] string? Language,
    [property: Id(3)] string Buffered,
    [property: Id(4)] int OpenTasks,
    [property: Id(5)] bool Ended);
