using System.ComponentModel.DataAnnotations;

namespace MitTts.Gateway.Contracts;

/// <summary>The body of <c>POST /api/v1/synthesize</c>, as the seed defines it; only <c>text</c> is required.</summary>
/// <remarks>Every field is nullable so that validation, not the JSON reader, names what is missing.</remarks>
public sealed class SynthesizeBody
{
    /// <summary>What to say: 1..5000 characters, as typed.</summary>
    [Required]
    public string? Text { get; init; }

    /// <summary>A voice id from GET /api/v1/voices (default: tts.default_voice).</summary>
    public string? VoiceId { get; init; }

    /// <summary>A language tag (es, en, pt-BR): without voice_id, the voice that speaks it (the default voice when it does); with
    /// voice_id, that voice must speak it.</summary>
    public string? Language { get; init; }

    /// <summary>wav (default), pcm, mp3, ogg (Ogg/Opus), flac, aac (AAC-LC in ADTS), mulaw or alaw (G.711 in WAV, 8000 Hz).</summary>
    public string? Format { get; init; }

    /// <summary>8000, 16000, 22050, 24000, 44100 or 48000 Hz (default: the voice's rate; 8000 for mulaw and alaw).</summary>
    public int? SampleRate { get; init; }

    /// <summary>mp3, ogg and aac only: kbps (mp3 32..320 in MPEG steps, default 64; ogg 6..256, default 32; aac 16..256, default 64).</summary>
    public int? Bitrate { get; init; }

    /// <summary>normal (default), high or critical.</summary>
    public string? Priority { get; init; }

    /// <summary>The session this task belongs to.</summary>
    public string? SessionId { get; init; }

    /// <summary>0.5..2.0, default 1.0.</summary>
    public double? Speed { get; init; }

    /// <summary>0.5..2.0, default 1.0.</summary>
    public double? Pitch { get; init; }

    /// <summary>Keep the finished audio for <c>GET /api/v1/audio/{task_id}.{format}</c> (for the result TTL, within the result store's
    /// budget). Default: true, except with <c>?wait=true</c>, whose response is the audio itself.</summary>
    public bool? Store { get; init; }

    /// <summary><c>text</c> is an SSML document (<c>&lt;speak&gt;</c>…): espeak-ng voices only. Default false: text is taken as typed.</summary>
    public bool? Ssml { get; init; }
}

/// <summary>The answer to a synthesis request.</summary>
public sealed record SynthesizeResponse(string TaskId, string Status, double EstimatedTime, string AudioUrl, int? QueuePosition);

/// <summary>The answer to <c>GET /api/v1/sessions/{session_id}</c>: <see cref="ActiveTasks"/> are its unfinished REST tasks (a stream's
/// tasks are told over its socket), <see cref="LastSequence"/> the number of the stream's last message (0 before any), what a socket
/// that reconnects resumes after, and <see cref="Streaming"/> whether the stream is in use (a socket listens or left less than a resume
/// window ago, or a streamed task is unfinished).</summary>
public sealed record SessionResponse(
    string SessionId,
    string? UserId,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastActivity,
    IReadOnlyList<string> ActiveTasks,
    long CompletedTasks,
    long LastSequence,
    bool Streaming);

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
    TaskErrorResponse? Error,
    int? SampleRate = null,
    bool CacheHit = false,
    string? Device = null,
    string? AudioState = null);

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

/// <summary>The answer to <c>GET /api/v1/health</c>: <c>healthy</c>, <c>degraded</c> or <c>unhealthy</c>, and what was checked
/// (<c>cluster</c>, and <c>redis</c> in cluster mode: <c>ok</c> or <c>unreachable</c>).</summary>
public sealed record HealthResponse(string Status, string Version, long Uptime, DateTimeOffset Timestamp, IReadOnlyDictionary<string, string>? Checks = null);

/// <summary>The answer to <c>GET /api/v1/status</c>; <see cref="Alerts"/> lists the alerts firing on this gateway.</summary>
public sealed record StatusResponse(ServerStatus Server, EngineStatus TtsEngine, ResourceStatus Resources, ResultStoreStatus ResultStore, ChannelBufferStatus ChannelBuffers,
    IReadOnlyList<AlertStatus> Alerts);

/// <summary>An alert firing: its name (<c>cpu_usage</c>, <c>memory_usage</c>, <c>queue_size</c>, <c>error_rate</c>), its figure now, the
/// threshold it crossed, the unit of both, and since when.</summary>
public sealed record AlertStatus(string Name, double Value, double Threshold, string Unit, DateTimeOffset Since);

/// <summary>The answer to <c>GET /api/v1/ready</c>: <c>ready</c> or <c>unready</c>, and each check (<c>cluster</c>, <c>engines</c>,
/// <c>redis</c> in cluster mode, <c>disk</c>, <c>memory</c>): <c>ok</c> or what is wrong.</summary>
public sealed record ReadinessResponse(string Status, IReadOnlyDictionary<string, string> Checks);

/// <summary><c>/ready</c> to a caller who is not an admin (with auth on): the verdict alone.</summary>
public sealed record ReadinessVerdict(string Status);

/// <summary>The result store: finished records and kept audio, bytes in memory and on disk against their budgets, and how many left
/// early (evictions) or on time (expirations). Kind <c>redis</c> reports Redis's memory and counts no entries (-1).</summary>
public sealed record ResultStoreStatus(
    string Kind,
    int Entries,
    int AudioEntries,
    long MemoryBytes,
    long MemoryBudgetBytes,
    long DiskBytes,
    long DiskBudgetBytes,
    long Evictions,
    long Expirations);

/// <summary>Audio the answering silo's session channels hold (resume buffers and unsent audio) against the per-silo cap, how often
/// they were asked to drop it, and the silo's active sessions against their cap.</summary>
public sealed record ChannelBufferStatus(long Bytes, long BudgetBytes, int BufferingSessions, long ShedRounds, int ActiveSessions, int MaxSessions);

public sealed record ServerStatus(string Status, string Mode, int Connections, long Uptime, string Version);

/// <summary>One synthesizer: its queue per priority, its work ahead in seconds, and its counters; with neural voices also the ONNX
/// Runtime provider its sessions run on, why it is not the one asked for, its open models, and its batches.</summary>
public sealed record DeviceStatus(
    string Key,
    bool Busy,
    int QueueLength,
    IReadOnlyDictionary<string, int> Queued,
    double WorkAhead,
    long Completed,
    long Failed,
    long Preemptions,
    long Cancellations,
    long Rejections,
    string? ExecutionProvider = null,
    string? FallbackReason = null,
    IReadOnlyList<LoadedModelStatus>? Models = null,
    long Batches = 0,
    long BatchedJobs = 0,
    int LargestBatch = 0);

/// <summary>A neural model with an open session on a device: its file, engine and the file's size in bytes.</summary>
public sealed record LoadedModelStatus(string Path, string Engine, long FileBytes);

/// <summary>A model file of the models folder that gives no usable voice, and why.</summary>
public sealed record ModelProblemStatus(string File, string Reason);

public sealed record EngineStatus(
    string Status,
    IReadOnlyList<string> Engines,
    IReadOnlyList<string> LoadedModels,
    IReadOnlyList<string> LoadedVoices,
    int QueueSize,
    IReadOnlyList<DeviceStatus> Devices,
    IReadOnlyList<ModelProblemStatus>? ModelProblems = null);

/// <summary>CPU in percent of all cores; memory and disk in MB.</summary>
public sealed record ResourceStatus(double CpuUsage, double MemoryUsage, double DiskUsage, double DiskFree, double MemoryTotal);

/// <summary>The answer to <c>DELETE /api/v1/tasks/{task_id}</c>.</summary>
public sealed record CancelResponse(string TaskId, string Status);
