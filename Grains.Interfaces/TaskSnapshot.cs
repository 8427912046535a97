namespace MitTts.Grains.Interfaces;

/// <summary>Why a task failed, as a stable code and a human message; <c>busy</c> refusals say when to retry.</summary>
[GenerateSerializer, Immutable]
public sealed record TaskError([property: Id(0)] string Code, [property: Id(1)] string Message, [property: Id(2)] double? RetryAfterSeconds = null)
{
    /// <summary>The code of a refusal because every synthesizer queue of the task's priority is full.</summary>
    public const string Busy = "busy";

    /// <summary>Whether this is a <see cref="Busy"/> refusal.</summary>
    public bool IsBusy => Code == Busy;

    /// <summary>The server (one process) stopped before the task finished.</summary>
    public static TaskError ServerStopping { get; } = new("server_stopping", "The server stopped before the task finished.");
}

/// <summary>A read-only view of a synthesis task at one moment.</summary>
[GenerateSerializer, Immutable]
public sealed record TaskSnapshot(
    [property: Id(0)] string TaskId,
    [property: Id(1)] SynthesisStatus Status,
    [property: Id(2)] SynthesisRequest Request,
    [property: Id(3)] DateTimeOffset CreatedAt,
    [property: Id(4)] DateTimeOffset? StartedAt,
    [property: Id(5)] DateTimeOffset? CompletedAt,
    [property: Id(6)] double Progress,
    [property: Id(7)] TaskError? Error,
    [property: Id(8)] double? AudioDurationSeconds,
    [property: Id(9)] int? QueuePosition,
    [property: Id(10)] double EstimatedSeconds,
    [property: Id(11)] DateTimeOffset? ExpiresAt,
    [property: Id(12)] bool CacheHit = false,
    [property: Id(13)] string? DeviceKey = null,
    [property: Id(14)] ResultAudio Audio = ResultAudio.None,
    [property: Id(15)] int? AudioSampleRate = null)
{
    /// <summary>Whether the task reached an end state and will not change again.</summary>
    public bool IsFinished => Status is SynthesisStatus.Completed or SynthesisStatus.Error or SynthesisStatus.Cancelled;
}

/// <summary>Whether a task's audio can be read: <see cref="None"/> until it completes, then <see cref="Kept"/>; <see cref="NotKept"/>
/// when the request did not ask for it to be stored (it went to its caller only); <see cref="Expired"/> when it was kept and is gone
/// (its time ran out, or it was evicted to stay within the result store's budget).</summary>
public enum ResultAudio
{
    None,
    Kept,
    NotKept,
    Expired,
}

/// <summary>The encoded audio of a completed task.</summary>
[GenerateSerializer, Immutable]
public sealed record AudioResult(
    [property: Id(0)] byte[] Data,
    [property: Id(1)] string ContentType,
    [property: Id(2)] string FileExtension,
    [property: Id(3)] int SampleRate,
    [property: Id(4)] double DurationSeconds,
    [property: Id(5)] bool CacheHit = false);
