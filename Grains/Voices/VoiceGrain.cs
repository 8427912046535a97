using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;
using MitTts.Grains.Synthesis.Neural;

namespace MitTts.Grains.Voices;

/// <summary>One catalogue voice; available when its engine runs on this silo (for a neural voice: its model opened, or was not tried).</summary>
public sealed class VoiceGrain(VoiceCatalog catalog, SpeechEngines engines) : Grain, IVoiceGrain
{
    Task<VoiceInfo?> IVoiceGrain.GetInfo()
    {
        if (catalog.Find(this.GetPrimaryKeyString()) is not { } voice)
        {
            return Task.FromResult<VoiceInfo?>(null);
        }

        var available = engines.IsAvailable(voice);
        var sampleRate = voice.SampleRate ?? (available ? engines.Find(voice.Engine)!.SampleRate : 0);
        return Task.FromResult<VoiceInfo?>(new VoiceInfo(
            voice.Id, voice.Language, voice.Gender, voice.Name, voice.Description, voice.Engine, voice.EngineVoice, sampleRate, available));
    }
}

/// <summary>Lists the catalogue by asking each voice grain, so availability is each voice's own word.</summary>
public sealed class VoiceCatalogGrain(VoiceCatalog catalog, NeuralEngines neural) : Grain, IVoiceCatalogGrain
{
    async Task<IReadOnlyList<VoiceInfo>> IVoiceCatalogGrain.ListVoices()
    {
        var ids = catalog.Ids.Order(StringComparer.Ordinal).ToArray();
        var voices = await Task.WhenAll(ids.Select(id => GrainFactory.GetGrain<IVoiceGrain>(id).GetInfo()));
        return [.. voices.OfType<VoiceInfo>()];
    }

    Task<IReadOnlyList<ModelProblem>> IVoiceCatalogGrain.GetModelProblems() => Task.FromResult(neural.Problems());
}
