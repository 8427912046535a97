using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Voices;
using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Onnx;

namespace MitTts.Grains.Synthesis.Neural;

/// <summary>The neural voices' engines of this silo: per device (<c>cpu:0</c>, <c>cuda:0</c>) one ONNX session factory and, per model,
/// one session, made once and kept. A model that fails is reported (one log line, <c>/status</c>) and only its voices go unavailable.</summary>
/// <remarks>Nothing of ONNX Runtime is touched while the catalogue has no neural voice, so the espeak-ng default does not pay for it.</remarks>
public sealed partial class NeuralEngines(VoiceCatalog voices, IPhonemizer phonemizer, IOptions<TtsOptions> options, ILogger<NeuralEngines> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, NeuralDevice> _devices = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _failures = new(StringComparer.Ordinal);

    /// <summary>Whether the catalogue has any neural voice.</summary>
    public bool HasVoices { get; } = HasNeuralVoice(voices);

    /// <summary>Whether <see cref="Start"/> opens every model on every device (<c>tts:neural_sessions</c> is not <c>lazy</c>).</summary>
    public bool OpensAtStartup => !string.Equals(options.Value.NeuralSessions, "lazy", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reports the catalogue's broken files and, when <c>tts:neural_sessions</c> is <c>startup</c>, opens every model on every
    /// device now, so the first request does not wait for a session and a model ONNX Runtime cannot load is known before anyone asks.</summary>
    public void Start(IReadOnlyList<string> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        foreach (var problem in voices.Problems)
        {
            LogModelProblem(problem.Path, problem.Reason);
        }

        if (!HasVoices)
        {
            return;
        }

        var eager = OpensAtStartup;
        foreach (var device in devices)
        {
            var neural = Device(device);
            if (neural.Unavailable is { } reason)
            {
                LogDeviceUnavailable(device, reason);
                continue;
            }

            if (neural.FallbackReason is { } fallback)
            {
                LogDeviceFallback(device, fallback);
            }

            foreach (var voice in voices.Voices)
            {
                if (eager && voice.Model is not null && neural.Slot(voice) is { } slot && slot.TryOpen())
                {
                    LogModelReady(device, voice.Id, neural.ExecutionProvider!);
                }
            }
        }
    }

    /// <summary>The engine of <paramref name="voice"/> on <paramref name="device"/>; null when the device cannot run neural models.</summary>
    public ISpeechEngine? Engine(string device, VoiceEntry voice) => Device(device).Slot(voice);

    /// <summary>Whether the voice's model is usable: its config was read and no device failed to open it.</summary>
    public bool IsAvailable(VoiceEntry voice)
    {
        ArgumentNullException.ThrowIfNull(voice);
        return voice.Model is not null && voice.SampleRate > 0 && !_failures.ContainsKey(voice.Model) && NeuralDevice.KnowsEngine(voice.Engine);
    }

    /// <summary>How many sentences of different jobs one inference on <paramref name="device"/> may take (<c>tts:max_batch</c> on a GPU,
    /// <c>tts:max_batch_cpu</c> on CPU, where a batch costs as long as its rows one after the other and so only delays the first).</summary>
    public int MaxBatch(string device)
    {
        var neural = Device(device);
        var max = neural.ExecutionProvider == OnnxSessionFactory.CudaProvider ? options.Value.MaxBatch : options.Value.MaxBatchCpu;
        return Math.Max(1, max);
    }

    /// <summary>The device's provider, why it fell back to CPU, and the models it holds open; null while no neural voice exists.</summary>
    public NeuralDeviceInfo? Status(string device)
    {
        if (!HasVoices)
        {
            return null;
        }

        var neural = Device(device);
        return new NeuralDeviceInfo(neural.ExecutionProvider ?? "none", neural.FallbackReason ?? neural.Unavailable, neural.OpenModels());
    }

    /// <summary>Every broken model file: those the catalogue could not read and those a device could not open.</summary>
    public IReadOnlyList<ModelProblem> Problems()
    {
        var problems = new List<ModelProblem>(voices.Problems.Count + _failures.Count);
        foreach (var problem in voices.Problems)
        {
            problems.Add(new ModelProblem(problem.Path, problem.Reason));
        }

        foreach (var (path, reason) in _failures)
        {
            problems.Add(new ModelProblem(path, reason));
        }

        problems.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return problems;
    }

    public void Dispose()
    {
        foreach (var device in _devices.Values)
        {
            device.Dispose();
        }
    }

    /// <summary>A model failed here: its voices are no longer available on this silo.</summary>
    public event Action? AvailabilityChanged;

    private NeuralDevice Device(string device) => _devices.GetOrAdd(device, name => new NeuralDevice(
        name,
        new OnnxDeviceOptions(name, options.Value.OnnxThreads, options.Value.CudaFallback, options.Value.CudaProviderOptions),
        phonemizer,
        Failed));

    /// <summary>A model cannot be used on this silo (told by its slot when it cannot be opened).</summary>
    internal void Failed(string modelPath, string reason)
    {
        if (_failures.TryAdd(modelPath, reason))
        {
            LogModelProblem(modelPath, reason);
            AvailabilityChanged?.Invoke();
        }
    }

    private static bool HasNeuralVoice(VoiceCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        foreach (var voice in catalog.Voices)
        {
            if (voice.Model is not null)
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Neural model {Path} is not usable: {Reason}")]
    private partial void LogModelProblem(string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device {Device}: {Reason}")]
    private partial void LogDeviceFallback(string device, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Device {Device} cannot run neural voices: {Reason}")]
    private partial void LogDeviceUnavailable(string device, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {Device}: voice {VoiceId} ready on {Provider}")]
    private partial void LogModelReady(string device, string voiceId, string provider);
}
