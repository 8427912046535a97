using Microsoft.Extensions.Hosting;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;
using MitTts.Grains.Synthesis.Neural;

namespace MitTts.Grains.Voices;

/// <summary>One catalogue voice; available when its engine runs on this silo (for a neural voice: its model opened, or was not tried).</summary>
public sealed class VoiceGrain(VoiceCatalog catalog, SpeechEngines engines) : Grain, IVoiceGrain
{
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Gateways cache voice answers until the catalogue changes: this activation may answer differently from an earlier one.
        return GrainFactory.GetGrain<IVoiceCatalogGrain>(0).Changed();
    }

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

/// <summary>Lists the catalogue by asking each voice grain, so availability is each voice's own word; tells gateways when what voice
/// grains answer may have changed.</summary>
public sealed class VoiceCatalogGrain(VoiceCatalog catalog, NeuralEngines neural, IHostApplicationLifetime lifetime) : Grain, IVoiceCatalogGrain
{
    // From the clock, so a later activation's versions never repeat an earlier one's.
    private long _version = DateTime.UtcNow.Ticks;
    private TaskCompletionSource _changed = NewSignal();

    async Task<IReadOnlyList<VoiceInfo>> IVoiceCatalogGrain.ListVoices()
    {
        var ids = catalog.Ids.Order(StringComparer.Ordinal).ToArray();
        var voices = await Task.WhenAll(ids.Select(id => GrainFactory.GetGrain<IVoiceGrain>(id).GetInfo()));
        return [.. voices.OfType<VoiceInfo>()];
    }

    Task<IReadOnlyList<ModelProblem>> IVoiceCatalogGrain.GetModelProblems() => Task.FromResult(neural.Problems());

    Task IVoiceCatalogGrain.Changed()
    {
        _version++;
        var changed = _changed;
        _changed = NewSignal();
        changed.TrySetResult();
        return Task.CompletedTask;
    }

    async Task<long> IVoiceCatalogGrain.WaitForChange(long knownVersion, TimeSpan maxWait)
    {
        if (_version != knownVersion)
        {
            return _version;
        }

        // Stay active while gateways wait on us: a deactivated grain would leave them waiting out maxWait.
        DelayDeactivation(maxWait);
        await _changed.Task.WaitAsync(maxWait, lifetime.ApplicationStopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
        return _version;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
