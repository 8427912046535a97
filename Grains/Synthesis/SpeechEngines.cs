using System.Collections.Frozen;
using MitTts.Speech.Engines;

namespace MitTts.Grains.Synthesis;

/// <summary>The engines this silo can run, by the name voices refer to them with.</summary>
public sealed class SpeechEngines(IEnumerable<ISpeechEngine> engines)
{
    private readonly FrozenDictionary<string, ISpeechEngine> _engines = engines.ToFrozenDictionary(e => e.Name, StringComparer.OrdinalIgnoreCase);

    public ISpeechEngine? Find(string name) => _engines.GetValueOrDefault(name);

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
