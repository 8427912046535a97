using Orleans.Concurrency;

namespace MitTts.Grains.Interfaces;

/// <summary>One synthesis task (key: task id): its request, lifecycle, progress, error and result.</summary>
/// <remarks>A REST task's grain owns its job: it pulls the audio from a synthesizer. A streamed task is owned by its session's
/// channel, which keeps this grain's record up to date (<see cref="Track"/>, <see cref="Record"/>).</remarks>
public interface ITaskGrain : IGrainWithStringKey
{
    /// <summary>Accepts the request and starts its synthesis; submitting the same task id again returns the existing task.</summary>
    Task<SubmitResult> Submit(SynthesisRequest request);

    /// <summary>The task as it is now, or null when no task has this id (or its result expired).</summary>
    Task<TaskSnapshot?> GetSnapshot();

    /// <summary>The encoded audio of a completed task whose audio was kept, or null (not completed, not kept, expired or evicted:
    /// <see cref="TaskSnapshot.Audio"/> says which).</summary>
    Task<AudioResult?> GetAudio();

    /// <summary>Completes when the task reaches an end state, returning that state.</summary>
    [AlwaysInterleave]
    Task<TaskSnapshot?> WaitForCompletion();

    /// <summary>Completes when the task reaches an end state, returning that state and, for a completed task, its audio: also audio
    /// that was not kept (<see cref="SynthesisRequest.Store"/> false), handed to the first caller that waits for it.</summary>
    [AlwaysInterleave]
    Task<TaskOutcome?> WaitForResult();

    /// <summary>Cancels the task if it has not finished; true when this call cancelled it.</summary>
    Task<bool> Cancel();

    /// <summary>Picks a REST task's job up again after the silo that owned it died (a no-op for a finished or streamed task).</summary>
    Task PickUp();

    /// <summary>A streamed task its socket is about to announce (<c>queued</c> goes out before the channel has it): until the channel
    /// tracks it or the socket withdraws it, reads and cancels of the task wait for it rather than find no task, on any gateway.</summary>
    Task Announce();

    /// <summary>An announced task the channel never took (refused, or the cluster did not answer): reads waiting for it go on.</summary>
    [AlwaysInterleave]
    Task Withdraw();

    /// <summary>Records a streamed task its channel accepted at <paramref name="createdAt"/>, queued on <paramref name="deviceKey"/>; the
    /// record stays in memory.</summary>
    /// <remarks>Interleaves: a read of the announced task may be waiting for it.</remarks>
    [AlwaysInterleave]
    Task Track(SynthesisRequest request, string deviceKey, DateTimeOffset createdAt);

    /// <summary>Records where a streamed task stands (processing, or an end state with its audio), as its channel saw it; an activation
    /// without the record rebuilds it from <paramref name="progress"/>.</summary>
    Task Record(TaskProgress progress);
}

/// <summary>A streamed task's state as its channel saw it: <see cref="Status"/>, and for an end state its error, or its duration,
/// whether the audio cache answered it (<see cref="CacheHit"/>) and (only when the request asked for it to be kept) its audio.</summary>
/// <remarks>A streamed task's record lives only in its grain's memory, so a grain whose silo died comes back empty: the request and
/// times ride along so that any activation can rebuild the record and store the task's end from this report alone.</remarks>
[GenerateSerializer, Immutable]
public sealed record TaskProgress(
    [property: Id(0)] SynthesisStatus Status,
    [property: Id(1)] TaskError? Error = null,
    [property: Id(2)] AudioResult? Audio = null,
    [property: Id(3)] string? DeviceKey = null,
    [property: Id(4)] double DurationSeconds = 0,
    [property: Id(5)] SynthesisRequest? Request = null,
    [property: Id(6)] DateTimeOffset? CreatedAt = null,
    [property: Id(7)] DateTimeOffset? StartedAt = null,
    [property: Id(8)] double Progress = 0,
    [property: Id(9)] int SampleRate = 0,
    [property: Id(10)] bool CacheHit = false);

/// <summary>How a task ended, with its audio when it completed and the audio can still be had.</summary>
[GenerateSerializer, Immutable]
public sealed record TaskOutcome([property: Id(0)] TaskSnapshot Task, [property: Id(1)] AudioResult? Audio);
