using Microsoft.Extensions.Configuration;

namespace MitTts.Grains;

/// <summary>The seed's <c>tts</c> section: models, limits, defaults.</summary>
public sealed class TtsOptions
{
    public const string Section = "tts";

    /// <summary>Folder holding <c>voices.json</c> and drop-in neural voices.</summary>
    [ConfigurationKeyName("model_path")]
    public string ModelPath { get; set; } = "models";

    /// <summary>Audio cache entries; 0 turns the cache off.</summary>
    [ConfigurationKeyName("cache_size")]
    public int CacheSize { get; set; } = 1000;

    /// <summary>Audio cache size limit in bytes.</summary>
    [ConfigurationKeyName("cache_max_bytes")]
    public long CacheMaxBytes { get; set; } = 64L * 1024 * 1024;

    [ConfigurationKeyName("max_text_length")]
    public int MaxTextLength { get; set; } = 5000;

    [ConfigurationKeyName("supported_languages")]
    public IList<string> SupportedLanguages { get; } = [];

    [ConfigurationKeyName("default_voice")]
    public string DefaultVoice { get; set; } = "es-female-1";

    /// <summary>How long a finished task and its audio stay readable.</summary>
    [ConfigurationKeyName("result_ttl_seconds")]
    public double ResultTtlSeconds { get; set; } = 3600;

    /// <summary>The result store's memory budget in bytes (embedded mode); unset: 128 MiB or a sixteenth of the memory, the smaller (past it, results go to disk).</summary>
    [ConfigurationKeyName("result_store_max_bytes")]
    public long? ResultStoreMaxBytes { get; set; }

    /// <summary>Bytes of results kept on disk once memory is full (embedded mode); 0 evicts instead.</summary>
    [ConfigurationKeyName("result_store_disk_bytes")]
    public long ResultStoreDiskBytes { get; set; } = 4L * 1024 * 1024 * 1024;

    /// <summary>Bytes of finished audio a silo holds while the shared result store (cluster mode: Redis) cannot take it, written behind
    /// once it is back; past it a result is held without its audio (its audio reads as expired).</summary>
    [ConfigurationKeyName("result_store_pending_bytes")]
    public long ResultStorePendingBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Where results past the memory budget go (<c>MIT_TTS_RESULTS_DIR</c>); unset: <c>mittts-results</c> under the temp folder.</summary>
    [ConfigurationKeyName("results_dir")]
    public string? ResultsDir { get; set; }

    /// <summary>When neural models get their sessions: <c>startup</c> (every model on every device as the silo starts; a model ONNX Runtime
    /// cannot load is known at once) or <c>lazy</c> (on a model's first request on a device).</summary>
    [ConfigurationKeyName("neural_sessions")]
    public string NeuralSessions { get; set; } = "startup";

    /// <summary>Whether a single-speaker Piper model opened at startup (<c>neural_sessions=startup</c>) also speaks its calibration
    /// sentence then, in the background, so that the first stream of its voice does not wait for that inference before its first audio.</summary>
    [ConfigurationKeyName("calibrate_at_startup")]
    public bool CalibrateAtStartup { get; set; } = true;

    /// <summary>Threads one CPU inference may use (ONNX Runtime's <c>IntraOpNumThreads</c>); 0: every core.</summary>
    [ConfigurationKeyName("onnx_threads")]
    public int OnnxThreads { get; set; }

    /// <summary>Most sentences of different jobs one inference takes on a GPU device (Piper voices).</summary>
    [ConfigurationKeyName("max_batch")]
    public int MaxBatch { get; set; } = 8;

    /// <summary>The same on a CPU device; 1 by default, because on CPU a batch takes as long as its rows one after the other, so it only
    /// delays the first job's audio.</summary>
    [ConfigurationKeyName("max_batch_cpu")]
    public int MaxBatchCpu { get; set; } = 1;

    /// <summary>A <c>cuda:N</c> device whose CUDA provider cannot load runs on CPU (and says why in <c>/status</c>); false: its neural
    /// voices are unavailable there instead.</summary>
    [ConfigurationKeyName("cuda_fallback")]
    public bool CudaFallback { get; set; } = true;

    /// <summary>ONNX Runtime CUDA provider options of every <c>cuda:N</c> device (<c>tts:cuda_provider_options:use_tf32</c>, ...), over
    /// ours (<c>cudnn_conv_algo_search=DEFAULT</c>, <c>use_tf32=0</c>); an option ONNX Runtime refuses makes the device fall back like
    /// a provider that does not load.</summary>
    [ConfigurationKeyName("cuda_provider_options")]
    public Dictionary<string, string> CudaProviderOptions { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The model folder as an absolute path: relative paths are tried against the working directory, then the app folder.</summary>
    public string ResolveModelPath()
    {
        if (Path.IsPathRooted(ModelPath))
        {
            return ModelPath;
        }

        var fromWorkingDirectory = Path.GetFullPath(ModelPath);
        return Directory.Exists(fromWorkingDirectory) ? fromWorkingDirectory : Path.Combine(AppContext.BaseDirectory, ModelPath);
    }
}

/// <summary>Session housekeeping.</summary>
public sealed class SessionOptions
{
    public const string Section = "sessions";

    /// <summary>A session with no active task and no activity for this long is cleared.</summary>
    [ConfigurationKeyName("idle_timeout_seconds")]
    public double IdleTimeoutSeconds { get; set; } = 1800;
}

/// <summary>The session audio channels behind WebSocket streaming.</summary>
public sealed class ChannelOptions
{
    public const string Section = "websocket";

    /// <summary>How long a channel keeps sent audio for a client that reconnects, and how long it keeps synthesizing with no client.</summary>
    [ConfigurationKeyName("resume_window_seconds")]
    public double ResumeWindowSeconds { get; set; } = 30;

    /// <summary>Most bytes of sent audio a channel keeps for resuming; older audio goes first.</summary>
    [ConfigurationKeyName("resume_buffer_bytes")]
    public long ResumeBufferBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>Most bytes a channel holds for a reader that is not reading (cut off, or far slower than synthesis); beyond it the
    /// oldest unsent audio is dropped, so one stalled session cannot exhaust a silo's memory.</summary>
    [ConfigurationKeyName("max_unsent_bytes")]
    public long MaxUnsentBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Most bytes all of a silo's channels hold together (resume buffers and unsent audio); past it the buffers of the sessions
    /// least recently active are dropped first (a resume beyond them hears <c>resume_expired</c>).</summary>
    [ConfigurationKeyName("max_buffered_bytes_per_silo")]
    public long MaxBufferedBytesPerSilo { get; set; } = 64L * 1024 * 1024;

    /// <summary>Most sessions (audio channels) one silo holds at once; a socket opening one more hears <c>too_many_sessions</c>.</summary>
    [ConfigurationKeyName("max_sessions_per_silo")]
    public int MaxSessionsPerSilo { get; set; } = 10_000;

    /// <summary>How long a task's start waits at the channel for the task's first audio, for a reader in another process (a client
    /// gateway), so that both go in one answer: the start's round trip (out, and the reader's next ask back) would otherwise come
    /// before the audio. An engine whose first piece takes longer hides that round trip anyway; 0 sends the start at once.</summary>
    [ConfigurationKeyName("first_audio_hold_ms")]
    public double FirstAudioHoldMs { get; set; } = 5;
}

/// <summary>The synthesis devices this silo offers; its node name is the silo's name (<c>cluster:node</c>, MIT_TTS_NODE_NAME).</summary>
public sealed class NodeOptions
{
    public const string Section = "cluster";

    /// <summary>Synthesis devices of this silo, one engine slot each (<c>cpu:0</c>, <c>cuda:0</c>).</summary>
    [ConfigurationKeyName("devices")]
    public IList<string> Devices { get; } = [];

    /// <summary>The devices, defaulting to one CPU slot.</summary>
    public IReadOnlyList<string> EffectiveDevices => Devices.Count > 0 ? [.. Devices] : ["cpu:0"];
}
