using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;

namespace MitTts.Grains.Voices;

/// <summary>One catalogue voice; available when its engine runs on this silo.</summary>
public sealed class VoiceGrain(VoiceCatalog catalog, SpeechEngines engines) : Grain, IVoiceGrain
{
    Task<VoiceInfo?> IVoiceGrain.GetInfo()
    {
        if (catalog.Find(this.GetPrimaryKeyString()) is not { } voice)
        {
            return Task.FromResult<VoiceInfo?>(null);
        }

        var engine = engines.Find(voice.Engine);
        var available = engines.IsAvailable(voice.Engine);
        var sampleRate = available ? engine!.SampleRate : 0;
        return Task.FromResult<VoiceInfo?>(new VoiceInfo(
            voice.Id, voice.Language, voice.Gender, voice.Name, voice.Description, voice.Engine, voice.EngineVoice, sampleRate, available));
    }
}

/// <summary>Lists the catalogue by asking each voice grain, so availability is each voice's own word.</summary>
public sealed class VoiceCatalogGrain(VoiceCatalog catalog) : Grain, IVoiceCatalogGrain
{
    async Task<IReadOnlyList<VoiceInfo>> IVoiceCatalogGrain.ListVoices()
    {
        var ids = catalog.Ids.Order(StringComparer.Ordinal).ToArray();
        var voices = await Task.WhenAll(ids.Select(id => GrainFactory.GetGrain<IVoiceGrain>(id).GetInfo()));
        return [.. voices.OfType<VoiceInfo>()];
    }
}
