using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Tasks;

/// <summary>A task grain's record: written for a REST task (a survivor takes its job over from it), held in memory for a streamed one.</summary>
[GenerateSerializer]
public sealed class TaskRecord
{
    [Id(0)] public SynthesisRequest? Request { get; set; }
    [Id(1)] public SynthesisStatus Status { get; set; }
    [Id(2)] public DateTimeOffset CreatedAt { get; set; }
    [Id(3)] public DateTimeOffset? StartedAt { get; set; }
    [Id(4)] public DateTimeOffset? CompletedAt { get; set; }
    [Id(5)] public TaskError? Error { get; set; }
    [Id(6)] public double? AudioDurationSeconds { get; set; }
    [Id(7)] public string? DeviceKey { get; set; }
    [Id(8)] public double EstimatedSeconds { get; set; }
    [Id(9)] public DateTimeOffset? ExpiresAt { get; set; }
    [Id(10)] public bool CacheHit { get; set; }
    [Id(11)] public double Progress { get; set; }
    [Id(12)] public int? AudioSampleRate { get; set; }
}

/// <summary>The persisted audio of a completed task, kept apart so status reads do not load it.</summary>
[GenerateSerializer]
public sealed class AudioRecord
{
    [Id(0)] public AudioResult? Audio { get; set; }
}
