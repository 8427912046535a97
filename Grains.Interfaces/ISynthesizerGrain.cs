using Orleans.Concurrency;

namespace MitTts.Grains.Interfaces;

/// <summary>A task waiting for, or running on, one synthesizer.</summary>
/// <remarks>A <see cref="Replay"/> job speaks a finished streamed task again for its channel, which lost unread audio with its silo;
/// the task itself does not change.</remarks>
[GenerateSerializer, Immutable]
public sealed record SynthesisJob(
    [property: Id(0)] string TaskId,
    [property: Id(1)] SynthesisRequest Request,
    [property: Id(2)] DateTimeOffset EnqueuedAt,
    [property: Id(3)] bool Replay = false);

/// <summary>Where a job landed in a synthesizer's queue, or why it was refused.</summary>
[GenerateSerializer, Immutable]
public sealed record QueueTicket(
    [property: Id(0)] string DeviceKey,
    [property: Id(1)] int Position,
    [property: Id(2)] double EstimatedSeconds,
    [property: Id(3)] bool Accepted = true,
    [property: Id(4)] double RetryAfterSeconds = 0);

/// <summary>A synthesizer's load at one moment.</summary>
[GenerateSerializer, Immutable]
public sealed record SynthesizerStatus(
    [property: Id(0)] string DeviceKey,
    [property: Id(1)] bool Busy,
    [property: Id(2)] int QueueLength,
    [property: Id(3)] long Completed,
    [property: Id(4)] long Failed,
    [property: Id(5)] double SecondsPerCharacter,
    [property: Id(6)] double WorkAheadSeconds,
    [property: Id(7)] IReadOnlyDictionary<Priority, int> QueuedByPriority,
    [property: Id(8)] long Preemptions,
    [property: Id(9)] long Cancellations,
    [property: Id(10)] long Rejections,
    [property: Id(11)] string Node);

/// <summary>One engine slot on one device of one silo (key: <c>{node}/{device}</c>, e.g. <c>silo-a/cpu:0</c>).</summary>
/// <remarks>Keeps the priority queue of its device and runs jobs sentence by sentence off the grain scheduler,
/// so enqueue and cancel calls still get through while it synthesizes.</remarks>
public interface ISynthesizerGrain : IGrainWithStringKey
{
    /// <summary>Queues a job (CRITICAL, HIGH, NORMAL; FIFO per session, round robin between sessions) or refuses it when its level is full.</summary>
    Task<QueueTicket> Enqueue(SynthesisJob job);

    /// <summary>Removes a queued job, or stops a running one within one engine buffer; true when the job was found.</summary>
    Task<bool> Cancel(string taskId);

    /// <summary>The job's position in service order (0 = running now), or null when it is not here.</summary>
    [AlwaysInterleave]
    Task<int?> GetQueuePosition(string taskId);

    /// <summary>The synthesizer's current load.</summary>
    [AlwaysInterleave]
    Task<SynthesizerStatus> GetStatus();
}
