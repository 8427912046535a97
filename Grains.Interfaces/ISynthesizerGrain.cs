namespace MitTts.Grains.Interfaces;

/// <summary>A task waiting for, or running on, one synthesizer.</summary>
[GenerateSerializer, Immutable]
public sealed record SynthesisJob(
    [property: Id(0)] string TaskId,
    [property: Id(1)] SynthesisRequest Request,
    [property: Id(2)] DateTimeOffset EnqueuedAt);

/// <summary>Where a job landed in a synthesizer's queue.</summary>
[GenerateSerializer, Immutable]
public sealed record QueueTicket(
    [property: Id(0)] string DeviceKey,
    [property: Id(1)] int Position,
    [property: Id(2)] double EstimatedSeconds);

/// <summary>A synthesizer's load at one moment.</summary>
[GenerateSerializer, Immutable]
public sealed record SynthesizerStatus(
    [property: Id(0)] string DeviceKey,
    [property: Id(1)] bool Busy,
    [property: Id(2)] int QueueLength,
    [property: Id(3)] long Completed,
    [property: Id(4)] long Failed,
    [property: Id(5)] double SecondsPerCharacter);

/// <summary>One engine slot on one device of one silo (key: <c>{node}/{device}</c>, e.g. <c>local/cpu:0</c>).</summary>
/// <remarks>Keeps the priority queue of its device and runs jobs off the grain scheduler, so calls still get through while it synthesizes.</remarks>
public interface ISynthesizerGrain : IGrainWithStringKey
{
    /// <summary>Queues a job by priority (FIFO within a level) and says where it landed.</summary>
    Task<QueueTicket> Enqueue(SynthesisJob job);

    /// <summary>Removes a queued job, or stops a running one; true when the job was found.</summary>
    Task<bool> Cancel(string taskId);

    /// <summary>The job's position in the queue (0 = running now), or null when it is not here.</summary>
    Task<int?> GetQueuePosition(string taskId);

    /// <summary>The synthesizer's current load.</summary>
    Task<SynthesizerStatus> GetStatus();
}
