using Microsoft.Extensions.Hosting;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Configuration;

/// <summary>The persisted state of the live settings.</summary>
[GenerateSerializer]
public sealed class LiveConfigRecord
{
    [Id(0)] public LiveConfigOverrides Overrides { get; set; } = LiveConfigOverrides.None;
}

/// <summary>Holds the cluster's live overrides and answers every process that waits for the next change.</summary>
/// <remarks>Waiters hold no grain turn (the wait methods interleave), so any number of silos and gateways can wait at once. When the
/// silo starts stopping they are let go at once (with an error, so they ask again elsewhere a moment later rather than at once), so
/// no wait holds up the silo's shutdown.</remarks>
public sealed class LiveConfigGrain(
    [PersistentState("live-config", StorageNames.Config)] IPersistentState<LiveConfigRecord> record,
    IHostApplicationLifetime lifetime)
    : Grain, ILiveConfigGrain
{
    private TaskCompletionSource<LiveConfigOverrides> _changed = NewSignal();

    private LiveConfigOverrides Current => record.State.Overrides;

    Task<LiveConfigOverrides> ILiveConfigGrain.GetOverrides() => Task.FromResult(Current);

    async Task<LiveConfigOverrides> ILiveConfigGrain.Apply(LiveConfigOverrides patch)
    {
        ArgumentNullException.ThrowIfNull(patch);
        record.State.Overrides = Current.Merge(patch);
        await record.WriteStateAsync();
        var changed = _changed;
        _changed = NewSignal();
        changed.TrySetResult(Current);
        return Current;
    }

    async Task<LiveConfigOverrides> ILiveConfigGrain.WaitForChange(long knownVersion, TimeSpan maxWait)
    {
        if (Current.Version != knownVersion)
        {
            return Current;
        }

        // Stay active while processes wait on us: a deactivated grain would leave them waiting out maxWait.
        DelayDeactivation(maxWait);
        try
        {
            return await _changed.Task.WaitAsync(maxWait, lifetime.ApplicationStopping);
        }
        catch (TimeoutException)
        {
            return Current;
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            throw new InvalidOperationException("The live configuration's silo is stopping; ask again.");
        }
    }

    private static TaskCompletionSource<LiveConfigOverrides> NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
