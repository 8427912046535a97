using System.Collections.Concurrent;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Voices;
using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Onnx;
using MitTts.Speech.Engines.Onnx.Kokoro;
using MitTts.Speech.Engines.Onnx.Piper;

namespace MitTts.Grains.Synthesis.Neural;

/// <summary>One device's neural models: its ONNX session factory (CUDA for <c>cuda:N</c>, with CPU fallback) and one
/// <see cref="NeuralModelSlot"/> per model file.</summary>
public sealed class NeuralDevice : IDisposable
{
    private readonly OnnxSessionFactory? _sessions;
    private readonly IPhonemizer _phonemizer;
    private readonly Action<string, string> _failed;
    private readonly ConcurrentDictionary<string, NeuralModelSlot> _slots = new(StringComparer.Ordinal);

    public NeuralDevice(string device, OnnxDeviceOptions options, IPhonemizer phonemizer, Action<string, string> failed)
    {
        Device = device;
        _phonemizer = phonemizer;
        _failed = failed;
        try
        {
            _sessions = new OnnxSessionFactory(options);
        }
        catch (Exception e) when (e is SpeechEngineUnavailableException or ArgumentException or TypeInitializationException or DllNotFoundException)
        {
            // No CUDA and no fallback, a device name ONNX Runtime has no provider for, or no ONNX Runtime at all.
            Unavailable = e.Message;
        }
    }

    public string Device { get; }

    /// <summary>The provider the device's sessions run on; null when it runs none.</summary>
    public string? ExecutionProvider => _sessions?.ExecutionProvider;

    /// <summary>Why a <c>cuda:N</c> device runs on CPU.</summary>
    public string? FallbackReason => _sessions?.FallbackReason;

    /// <summary>Why the device runs no neural model at all.</summary>
    public string? Unavailable { get; }

    public static bool KnowsEngine(string engine) => engine is PiperEngine.EngineName or KokoroEngine.EngineName;

    /// <summary>The slot of the voice's model; null when the device runs no neural model or the voice's engine is not a neural one.</summary>
    public NeuralModelSlot? Slot(VoiceEntry voice)
    {
        ArgumentNullException.ThrowIfNull(voice);
        if (_sessions is null || voice.Model is null || !KnowsEngine(voice.Engine))
        {
            return null;
        }

        var rate = voice.SampleRate ?? 0;
        return _slots.GetOrAdd(voice.Model, model => new NeuralModelSlot(voice.Engine, model, rate, _sessions, _phonemizer, _failed));
    }

    /// <summary>The models whose sessions are open, by path.</summary>
    public IReadOnlyList<LoadedModelInfo> OpenModels()
    {
        var open = new List<LoadedModelInfo>();
        foreach (var slot in _slots.Values)
        {
            if (slot.IsOpen)
            {
                open.Add(new LoadedModelInfo(slot.ModelPath, slot.Name, slot.FileBytes));
            }
        }

        open.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return open;
    }

    public void Dispose()
    {
        foreach (var slot in _slots.Values)
        {
            slot.Dispose();
        }
    }
}
