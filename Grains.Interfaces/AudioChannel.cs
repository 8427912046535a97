using Orleans.Concurrency;

namespace MitTts.Grains.Interfaces;

/// <summary>What a channel event says: a task's audio starts, a piece of it, its words, its end, or the end of a text context.</summary>
public enum ChannelEventKind
{
    TaskStarted = 0,
    Audio = 1,
    Words = 2,
    TaskEnded = 3,
    ContextEnded = 4,
}

/// <summary>A word of a task's audio: where it starts and ends, in milliseconds from the task's first sample.</summary>
[GenerateSerializer, Immutable]
public sealed record WordTiming([property: Id(0)] string Word, [property: Id(1)] int StartMs, [property: Id(2)] int EndMs);

/// <summary>One entry of a session's audio channel, numbered by <see cref="Sequence"/> (1, 2, 3…) so a client can resume after it.</summary>
/// <remarks>Only the fields of its <see cref="Kind"/> are set: <see cref="Audio"/> for audio, <see cref="Words"/> for words,
/// <see cref="Status"/>, <see cref="Error"/> and <see cref="DurationMs"/> for a task's end.</remarks>
[GenerateSerializer, Immutable]
public sealed record ChannelEvent(
    [property: Id(0)] long Sequence,
    [property: Id(1)] ChannelEventKind Kind,
    [property: Id(2)] string? TaskId,
    [property: Id(3)] string? RequestId,
    [property: Id(4)] string? ContextId,
    [property: Id(5)] byte[]? Audio = null,
    [property: Id(6)] IReadOnlyList<WordTiming>? Words = null,
    [property: Id(7)] SynthesisStatus Status = SynthesisStatus.Processing,
    [property: Id(8)] TaskError? Error = null,
    [property: Id(9)] double Progress = 0,
    [property: Id(10)] int DurationMs = 0);

/// <summary>Audio of one sentence of a streamed task, sent by the synthesizer to the task's session channel as it is made.</summary>
/// <remarks><see cref="Sentence"/> numbers the task's sentences from 0; <see cref="SentenceComplete"/> marks the last piece of one, and
/// <see cref="Final"/> the last piece of the task (carrying <see cref="DurationMs"/>), numbered one past the last sentence (the
/// stream's tail: the encoder's last bytes); <see cref="Offset"/> is where <see cref="Audio"/>
/// starts in its sentence's bytes. A channel ignores what it already has (whole sentences, and the start of the one it was receiving), so a
/// task re-run after its silo died repeats nothing.</remarks>
[GenerateSerializer, Immutable]
public sealed record AudioBatch(
    [property: Id(0)] string TaskId,
    [property: Id(1)] int Sentence,
    [property: Id(2)] byte[] Audio,
    [property: Id(3)] IReadOnlyList<WordTiming>? Words,
    [property: Id(4)] bool SentenceComplete,
    [property: Id(5)] bool Final,
    [property: Id(6)] double Progress,
    [property: Id(7)] int DurationMs = 0,
    [property: Id(8)] long Offset = 0);

/// <summary>How a streamed task joins its session's channel: the client's request id and text context, echoed on everything about it.</summary>
[GenerateSerializer, Immutable]
public sealed record ChannelTaskInfo([property: Id(0)] string TaskId, [property: Id(1)] string? RequestId, [property: Id(2)] string? ContextId);

/// <summary>The settings of a text context: the request every sentence of the context is synthesized with (its text unused).</summary>
[GenerateSerializer, Immutable]
public sealed record TextContextOptions([property: Id(0)] SynthesisRequest Template, [property: Id(1)] string? RequestId);

/// <summary>What a piece of streamed text did: the tasks it started (one per sentence now complete), or why it was refused.</summary>
[GenerateSerializer, Immutable]
public sealed record TextAppendResult([property: Id(0)] IReadOnlyList<TaskSnapshot> Tasks, [property: Id(1)] TaskError? Error = null);

/// <summary>A session's ordered audio channel (key: session id): the audio of its streamed tasks, one task at a time in priority order,
/// kept for a resume window so a client that reconnects, to any gateway node, receives the rest.</summary>
public interface IAudioChannelGrain : IGrainWithStringKey
{
    /// <summary>Joins a streamed task to the channel and submits it for synthesis; the snapshot says whether it was accepted.</summary>
    Task<TaskSnapshot> Submit(ChannelTaskInfo info, SynthesisRequest request);

    /// <summary>Appends streamed text (LLM tokens) to a text context, opening it with <paramref name="options"/> when new;
    /// each sentence that is now complete becomes a task.</summary>
    Task<TextAppendResult> AppendText(string contextId, string text, TextContextOptions options);

    /// <summary>Synthesizes what a text context holds now, complete sentence or not; with <paramref name="close"/>, also ends the context.</summary>
    Task<TextAppendResult> FlushText(string contextId, bool close);

    /// <summary>The channel's events after <paramref name="afterSequence"/>, then new ones as they happen, until cancelled.</summary>
    /// <remarks>Events older than the resume window are gone: a reader asking for them starts at the oldest one kept. While no reader
    /// listens for a whole resume window, the session's unfinished tasks are cancelled.</remarks>
    IAsyncEnumerable<ChannelEvent> Listen(long afterSequence, CancellationToken cancellationToken = default);

    /// <summary>Stops tasks of the channel (the given ones, or those of a context, or all when both are null): their audio leaves the
    /// channel and their synthesis is cancelled; returns the ids stopped.</summary>
    Task<IReadOnlyList<string>> Interrupt(IReadOnlyList<string>? taskIds, string? contextId);

    /// <summary>Called by the synthesizer with the next audio of a streamed task. Returns the sentence the channel wants next (the
    /// batch's own while it is incomplete, the following one once it is whole), or -1 when it no longer wants the task (stop).</summary>
    /// <remarks>A channel takes only the sentence it wants: pieces of earlier sentences are repeats, later ones a gap (audio lost with a
    /// dead silo), and the answer tells the synthesizer where to go on from.</remarks>
    Task<int> PushAudio(AudioBatch batch);

    /// <summary>Called by the task when it ends (completed, error or cancelled).</summary>
    Task TaskEnded(string taskId, SynthesisStatus status, TaskError? failure);

    /// <summary>The highest sequence number handed out so far.</summary>
    [AlwaysInterleave]
    Task<long> GetLastSequence();
}
