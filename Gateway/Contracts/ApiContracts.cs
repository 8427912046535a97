namespace MitTts.Gateway.Contracts;

/// <summary>The body of <c>POST /api/v1/synthesize</c>, as the seed defines it; fields are optional here so validation can name the missing one.</summary>
public sealed record SynthesizeBody(
    string? Text,
    string? VoiceId,
    string? Format,
    string? Priority,
    string? SessionId,
    double? Speed,
    double? Pitch);

/// <summary>The answer to a synthesis request.</summary>
public sealed record SynthesizeResponse(string TaskId, string Status, double EstimatedTime, string AudioUrl, int? QueuePosition);

/// <summary>A task's error, when it failed.</summary>
public sealed record TaskErrorResponse(string Code, string Message);

/// <summary>The answer to <c>GET /api/v1/tasks/{task_id}</c>.</summary>
public sealed record TaskResponse(
    string TaskId,
    string Status,
    double Progress,
    string Priority,
    string VoiceId,
    string Format,
    string? SessionId,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    int? QueuePosition,
    double EstimatedTime,
    double? AudioDuration,
    string? AudioUrl,
    DateTimeOffset? ExpiresAt,
    TaskErrorResponse? Error);

/// <summary>One voice of <c>GET /api/v1/voices</c>.</summary>
public sealed record VoiceResponse(
    string Id,
    string Language,
    string Gender,
    string Name,
    string Description,
    string Engine,
    int SampleRate,
    bool IsAvailable);

/// <summary>The answer to <c>GET /api/v1/voices</c>.</summary>
public sealed record VoicesResponse(IReadOnlyList<VoiceResponse> Voices);

/// <summary>The answer to <c>GET /api/v1/health</c>.</summary>
public sealed record HealthResponse(string Status, string Version, long Uptime, DateTimeOffset Timestamp);

/// <summary>The answer to <c>GET /api/v1/status</c>.</summary>
public sealed record StatusResponse(ServerStatus Server, EngineStatus TtsEngine, ResourceStatus Resources);

public sealed record ServerStatus(string Status, string Mode, int Connections, long Uptime, string Version);

public sealed record DeviceStatus(string Key, bool Busy, int QueueLength, long Completed, long Failed);

public sealed record EngineStatus(
    string Status,
    IReadOnlyList<string> Engines,
    IReadOnlyList<string> LoadedModels,
    IReadOnlyList<string> LoadedVoices,
    int QueueSize,
    IReadOnlyList<DeviceStatus> Devices);

/// <summary>CPU in percent of all cores; memory and disk in MB.</summary>
public sealed record ResourceStatus(double CpuUsage, double MemoryUsage, double DiskUsage, double DiskFree, double MemoryTotal);

/// <summary>The answer to <c>DELETE /api/v1/tasks/{task_id}</c>.</summary>
public sealed record CancelResponse(string TaskId, string Status);
