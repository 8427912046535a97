using System.Text.Json.Serialization;
using Orleans.Concurrency;

namespace MitTts.Grains.Interfaces;

/// <summary>A word of a task's audio: where it starts and ends, in milliseconds from the task's first sample; <see cref="Estimated"/>
/// when the engine gives no word times of its own (neural voices: placed by phoneme positions), left out of the JSON otherwise.</summary>
[GenerateSerializer, Immutable]
public sealed record WordTiming(
    [property: Id(0)] string Word,
    [property: Id(1)] int StartMs,
    [property: Id(2)] int EndMs,
    [property: Id(3), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Estimated = false);

/// <summary>How far a task's audio reaches: the sentence being received, the bytes of it received, and the output samples received
/// in all (the task's duration is counted from what its reader got, which after a failover joins two renderings); for Ogg, the pages
/// received and the granule of the last one, which a replacement rendering continues from (the channel's Ogg splice).</summary>
[GenerateSerializer, Immutable]
public readonly record struct AudioPosition(
    [property: Id(0)] int Sentence,
    [property: Id(1)] long Bytes,
    [property: Id(2)] long Samples,
    [property: Id(3)] int OggPages = 0,
    [property: Id(4)] long OggGranule = 0)
{
    /// <summary>For events that carry no audio position (a task's start or end, a context's end).</summary>
    public static AudioPosition None { get; } = new(-1, 0, 0);

    public bool IsNone => Sentence < 0;
}

/// <summary>Where an event leaves its task (<see cref="AudioPosition.None"/> for events without audio), and whether it ends the task.</summary>
[GenerateSerializer, Immutable]
public readonly record struct EventMark([property: Id(0)] long Sequence, [property: Id(1)] string? TaskId, [property: Id(2)] AudioPosition Position, [property: Id(3)] bool Ends);

/// <summary>What a reader says when it starts listening: <see cref="Silo"/>, the silo whose death would take the reader with it (its
/// co-hosted gateway's; null for a client gateway, which outlives every silo), and <see cref="Held"/>, the notes of the events it read
/// before the channel had saved them, oldest first.</summary>
/// <remarks>A durable channel lets a reader that would outlive it have events before it saves them (first audio does not wait for a
/// storage write); when the channel comes back on another silo, the first reader's held notes tell it where that reader
/// stands beyond its saved state, and which tasks it had audio of that no save knew.</remarks>
[GenerateSerializer, Immutable]
public sealed record ChannelReader([property: Id(0)] string? Silo, [property: Id(1)] IReadOnlyList<UnsavedEvent> Held)
{
    /// <summary>A reader in a client gateway that holds nothing unsaved yet.</summary>
    public static ChannelReader Client { get; } = new(null, []);
}

/// <summary>A task of the channel: who it is, its request, its place in line, and how far a reader has read it (whether its start,
/// and where in its audio).</summary>
[GenerateSerializer, Immutable]
public sealed record ChannelItemRecord(
    [property: Id(0)] ChannelTaskInfo Info,
    [property: Id(1)] SynthesisRequest Request,
    [property: Id(2)] long Order,
    [property: Id(3)] bool Started,
    [property: Id(4)] AudioPosition Read);

/// <summary>On an event a channel sent before saving it: its mark, which the reader keeps until it hears that the channel saved
/// through it (<see cref="SavedThrough"/> on a later event, or an event without this note), and while no save knows its task, the
/// task as a save would hold it (<see cref="Task"/>), so a channel restored from an older save can take the task up.</summary>
[GenerateSerializer, Immutable]
public sealed record UnsavedEvent([property: Id(0)] EventMark Mark, [property: Id(1)] long SavedThrough, [property: Id(2)] ChannelItemRecord? Task = null);

/// <summary>One entry of a session's audio channel, numbered by <see cref="Sequence"/> (1, 2, 3…) so a client can resume after it.</summary>
/// <remarks>One record per kind: <see cref="TaskStartedEvent"/>, <see cref="AudioEvent"/>, <see cref="WordsEvent"/>,
/// <see cref="TaskEndedEvent"/>, <see cref="ContextEndedEvent"/>.</remarks>
[GenerateSerializer, Immutable]
public abstract record ChannelEvent(
    [property: Id(0)] long Sequence,
    [property: Id(1)] string? TaskId,
    [property: Id(2)] string? RequestId,
    [property: Id(3)] string? ContextId)
{
    /// <summary>Set on an event a durable channel let this reader have before saving it (<see cref="ChannelReader"/>).</summary>
    [Id(4)]
    public UnsavedEvent? Unsaved { get; init; }

    /// <summary>The events numbered between the one the reader asked for and this one were passed over on purpose (an interrupt
    /// stopped their tasks and the socket dropped them): their numbers stay taken, and the gap is no loss to report.</summary>
    [Id(5)]
    public bool AfterPassedOver { get; init; }

    /// <summary>The events that follow this one, in order, sent in the same answer: a channel gives a reader in another process what
    /// is already there at once, since each answer costs it a round trip. The reader takes them as if each came on its own.</summary>
    [Id(6)]
    public IReadOnlyList<ChannelEvent>? Following { get; init; }
}

/// <summary>A task's audio starts: everything about it follows until its <see cref="TaskEndedEvent"/>.</summary>
[GenerateSerializer, Immutable]
public sealed record TaskStartedEvent(long Sequence, string TaskId, string? RequestId, string? ContextId)
    : ChannelEvent(Sequence, TaskId, RequestId, ContextId);

/// <summary>A piece of a task's encoded audio (the whole file at once for a task that asked not to be streamed).</summary>
[GenerateSerializer, Immutable]
public sealed record AudioEvent(long Sequence, string TaskId, string? RequestId, string? ContextId, [property: Id(0)] byte[] Audio, [property: Id(1)] double Progress)
    : ChannelEvent(Sequence, TaskId, RequestId, ContextId);

/// <summary>The words of the sentence whose audio came just before.</summary>
[GenerateSerializer, Immutable]
public sealed record WordsEvent(long Sequence, string TaskId, string? RequestId, string? ContextId, [property: Id(0)] IReadOnlyList<WordTiming> Words)
    : ChannelEvent(Sequence, TaskId, RequestId, ContextId);

/// <summary>A task's end: completed (with its duration), error or cancelled. <see cref="Announced"/>: the end of a task a socket's
/// interrupt stopped, which that socket told its client itself (its <c>cancelled</c> status): kept in the log for the sequence, never
/// sent, so a client that resumes from before it does not hear the task end twice.</summary>
[GenerateSerializer, Immutable]
public sealed record TaskEndedEvent(
    long Sequence,
    string TaskId,
    string? RequestId,
    string? ContextId,
    [property: Id(0)] SynthesisStatus Status,
    [property: Id(1)] TaskError? Error,
    [property: Id(2)] double Progress,
    [property: Id(3)] int DurationMs,
    [property: Id(4)] bool Announced = false)
    : ChannelEvent(Sequence, TaskId, RequestId, ContextId);

/// <summary>A text context ended: its last task ended and the client sent <c>end</c>.</summary>
[GenerateSerializer, Immutable]
public sealed record ContextEndedEvent(long Sequence, string? RequestId, string ContextId)
    : ChannelEvent(Sequence, null, RequestId, ContextId);

/// <summary>How a streamed task joins its session's channel: the client's request id and text context, echoed on everything about it.</summary>
/// <remarks><see cref="Whole"/>: the client asked for the audio in one piece (<c>"stream": false</c>); the channel sends it as one
/// <see cref="AudioEvent"/> just before the task's end.</remarks>
[GenerateSerializer, Immutable]
public sealed record ChannelTaskInfo([property: Id(0)] string TaskId, [property: Id(1)] string? RequestId, [property: Id(2)] string? ContextId, [property: Id(3)] bool Whole = false);

/// <summary>The settings of a text context: the request every sentence of the context is synthesized with (its text unused).</summary>
[GenerateSerializer, Immutable]
public sealed record TextContextOptions([property: Id(0)] SynthesisRequest Template, [property: Id(1)] string? RequestId);

/// <summary>A task id whose task grain has heard of it (<see cref="ITaskGrain.Announce"/>), handed on to be used; <see cref="Age"/>: how
/// long ago it was announced (see <see cref="TaskAnnouncements"/>).</summary>
[GenerateSerializer, Immutable]
public sealed record AnnouncedTaskId([property: Id(0)] string TaskId, [property: Id(1)] TimeSpan Age);

/// <summary>What a piece of streamed text did: one result per sentence now complete (accepted or refused), or why the text itself was refused.</summary>
[GenerateSerializer, Immutable]
public sealed record TextAppendResult([property: Id(0)] IReadOnlyList<SubmitResult> Tasks, [property: Id(1)] TaskError? Error = null);

/// <summary>A session's ordered audio channel (key: session id): it owns the session's streamed tasks, pulls their audio from the
/// synthesizers, sends it one task at a time in priority order, and keeps it for a resume window so a client that reconnects, to any
/// gateway node, receives the rest.</summary>
public interface IAudioChannelGrain : IGrainWithStringKey
{
    /// <summary>Joins a streamed task to the channel and starts its synthesis; a refusal (every queue of its level full) joins nothing.
    /// Idempotent by task id, so a caller whose call was lost with a silo asks again; answers within 10 s or the caller hears a timeout
    /// (a call in flight to a silo that died would otherwise wait out the 30 s default).</summary>
    [ResponseTimeout("00:00:10")]
    Task<SubmitResult> Submit(ChannelTaskInfo info, SynthesisRequest request);

    /// <summary>Appends streamed text (LLM tokens) to a text context, opening it with <paramref name="options"/> when new;
    /// each sentence that is now complete becomes a task. <paramref name="spare"/>: an id announced by the caller, for the channel's
    /// next text task when it has none announced yet (its first context); the channel withdraws it otherwise.</summary>
    Task<TextAppendResult> AppendText(string contextId, string text, TextContextOptions options, AnnouncedTaskId? spare = null);

    /// <summary>Synthesizes what a text context holds now, complete sentence or not; with <paramref name="close"/>, also ends the context.</summary>
    Task<TextAppendResult> FlushText(string contextId, bool close);

    /// <summary>The channel's events after <paramref name="afterSequence"/>, then new ones as they happen, until cancelled.</summary>
    /// <remarks>Events older than the resume window are gone: a reader asking for them starts at the oldest one kept. While no reader
    /// listens for a whole resume window, the session's unfinished tasks are cancelled. Without <paramref name="reader"/>, a durable
    /// channel sends only events it has saved.</remarks>
    IAsyncEnumerable<ChannelEvent> Listen(long afterSequence, ChannelReader? reader = null, CancellationToken cancellationToken = default);

    /// <summary>Stops tasks of the channel (the given ones, or those of a context, or all when both are null): their audio leaves the
    /// channel and their synthesis is cancelled; returns those stopped (id, request id and context, for their <c>cancelled</c> status).
    /// <paramref name="announced"/>: the caller, the socket that was
    /// interrupted, tells its client each of them ended (their ends in the channel are <see cref="TaskEndedEvent.Announced"/>); a cancel
    /// from elsewhere (REST) leaves the telling to the channel. <paramref name="heardThrough"/>: the last sequence that socket sent its
    /// client; the stopped tasks' events after it (dropped by the socket) are never read again, by a resume either.</summary>
    Task<IReadOnlyList<ChannelTaskInfo>> Interrupt(IReadOnlyList<string>? taskIds, string? contextId, bool announced = false, long heardThrough = long.MaxValue);

    /// <summary>What the task grain has not heard yet, or null: the latest report on the task (queued, processing, cancelled or failed,
    /// never completed) still on its way, or, for a task being synthesized, how far it has got (the channel reports no per-sentence
    /// progress, to keep grain calls off the audio path). A client that heard a task's interrupt over a socket and reads the task at once
    /// over REST finds it cancelled; one that polls a streamed task sees its progress move.</summary>
    [AlwaysInterleave]
    [ResponseTimeout("00:00:03")]
    Task<TaskProgress?> GetUnrecordedProgress(string taskId);

    /// <summary>The highest sequence number a reader may have now (handed out and, in durable mode, saved); also how a reader checks
    /// that the channel is still there (it answers within 3 s or the caller hears a timeout), and that its listening still brings what
    /// the channel has. <see cref="AudioChannelReleases.AwaitingReader"/> from a channel restored on another silo that no reader has
    /// listened to yet: any listening is on the activation that died, however much it read.</summary>
    [AlwaysInterleave]
    [ResponseTimeout("00:00:03")]
    Task<long> GetLastReleased();

    /// <summary>The oldest event still kept (<see cref="ChannelWindow.FirstKept"/>; one past the last when none is) and the last one: a
    /// client resuming from before the first hears that the events between are gone.</summary>
    [AlwaysInterleave]
    [ResponseTimeout("00:00:03")]
    Task<ChannelWindow> GetWindow();

    /// <summary>Whether the session is in use through its channel: a reader listens, or the last one left less than a resume window
    /// ago (it may come back), or a task is unfinished. Its session keeps its owner while this holds, however long ago a REST call
    /// touched it: a socket that only streams is activity too.</summary>
    [AlwaysInterleave]
    [ResponseTimeout("00:00:03")]
    Task<bool> IsInUse();

    /// <summary>Drops the channel's resume buffer (and, with no reader, its unsent audio): its silo holds too much in all channels.</summary>
    [OneWay]
    Task ShedBuffers();

    /// <summary>The caller is done with this channel (a one-shot request, such as an OpenAI speech request or a Wyoming connection):
    /// unfinished tasks are cancelled, the buffers released and the channel leaves now, not after its resume window.</summary>
    Task Close();
}

/// <summary>The events a channel still keeps: <see cref="FirstKept"/> to <see cref="Last"/> (empty when <see cref="FirstKept"/> is past it);
/// <see cref="Full"/>: the channel could not open, its silo holds as many sessions as it may.</summary>
[GenerateSerializer, Immutable]
public sealed record ChannelWindow([property: Id(0)] long FirstKept, [property: Id(1)] long Last, [property: Id(2)] bool Full = false);

/// <summary>What <see cref="IAudioChannelGrain.GetLastReleased"/> answers besides a sequence number.</summary>
public static class AudioChannelReleases
{
    /// <summary>The channel came back from its save after its silo died and waits for its first reader to say what it holds; until then
    /// it sends nothing, so a reader still waiting on a listening has to listen again.</summary>
    public const long AwaitingReader = -1;
}
