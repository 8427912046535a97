using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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

    Task<VoiceInfo?> IVoiceGrain.GetInfo() => Task.FromResult(Describe(catalog, engines, this.GetPrimaryKeyString()));

    /// <summary>Voice <paramref name="id"/> as this silo's catalogue and engines see it; null when the catalogue has no such voice.</summary>
    internal static VoiceInfo? Describe(VoiceCatalog catalog, SpeechEngines engines, string id)
    {
        if (catalog.Find(id) is not { } voice)
        {
            return null;
        }

        var available = engines.IsAvailable(voice);
        var sampleRate = voice.SampleRate ?? (available ? engines.Find(voice.Engine)!.SampleRate : 0);
        return new VoiceInfo(voice.Id, voice.Language, voice.Gender, voice.Name, voice.Description, voice.Engine, voice.EngineVoice, sampleRate, available);
    }
}

/// <summary>Lists the catalogue by asking each voice grain, so availability is each voice's own word; tells gateways when what voice
/// grains answer may have changed.</summary>
public sealed partial class VoiceCatalogGrain(
    VoiceCatalog catalog, SpeechEngines engines, NeuralEngines neural, IHostApplicationLifetime lifetime, ILogger<VoiceCatalogGrain> logger)
    : Grain, IVoiceCatalogGrain
{
    // From the clock, so a later activation's versions never repeat an earlier one's.
    private long _version = DateTime.UtcNow.Ticks;
    private TaskCompletionSource _changed = NewSignal();

    async Task<IReadOnlyList<VoiceInfo>> IVoiceCatalogGrain.ListVoices()
    {
        var ids = catalog.Ids.Order(StringComparer.Ordinal).ToArray();
        var voices = await Task.WhenAll(ids.Select(Ask));
        return [.. voices.OfType<VoiceInfo>()];
    }

    /// <summary>The voice grain's own answer; this silo's view of the voice when the voice grain does not answer in time (a silo joining
    /// or leaving the cluster): the catalogue answers within seconds rather than holding every gateway's list for a call timeout.</summary>
    private async Task<VoiceInfo?> Ask(string id)
    {
        try
        {
            return await GrainFactory.GetGrain<IVoiceGrain>(id).GetInfo();
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            LogVoiceUnanswered(id, e);
            return VoiceGrain.Describe(catalog, engines, id);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Voice {VoiceId} did not answer the catalogue; listing it as this silo sees it")]
    private partial void LogVoiceUnanswered(string voiceId, Exception exception);

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
