using System.Collections.Frozen;
using MitTts.Grains.Synthesis.Neural;
using MitTts.Grains.Voices;
using MitTts.Speech.Engines;

namespace MitTts.Grains.Synthesis;

/// <summary>The engines this silo can run: the shared ones by the name voices refer to them with (espeak-ng), and the neural voices'
/// engines, which are opened per device and model by <see cref="NeuralEngines"/>.</summary>
public sealed class SpeechEngines(IEnumerable<ISpeechEngine> engines, NeuralEngines? neural = null)
{
    private readonly FrozenDictionary<string, ISpeechEngine> _engines = engines.ToFrozenDictionary(e => e.Name, StringComparer.OrdinalIgnoreCase);

    public ISpeechEngine? Find(string name) => _engines.GetValueOrDefault(name);

    /// <summary>The engine that speaks <paramref name="voice"/> on <paramref name="device"/>; null when this silo has none for it.</summary>
    public ISpeechEngine? For(VoiceEntry voice, string device)
    {
        ArgumentNullException.ThrowIfNull(voice);
        if (voice.Model is not null)
        {
            return neural?.Engine(device, voice);
        }

        return Find(voice.Engine);
    }

    /// <summary>Whether the voice's engine exists here and its native parts (or its model) loaded.</summary>
    public bool IsAvailable(VoiceEntry voice)
    {
        ArgumentNullException.ThrowIfNull(voice);
        if (voice.Model is not null)
        {
            return neural?.IsAvailable(voice) ?? false;
        }

        return IsAvailable(voice.Engine);
    }

    /// <summary>Whether the engine exists here and its native parts loaded.</summary>
    public bool IsAvailable(string name)
    {
        if (Find(name) is not { } engine)
        {
            return false;
        }

        try
        {
            return engine.SampleRate > 0;
        }
        catch (SpeechEngineUnavailableException)
        {
            return false;
        }
    }
}
