using Microsoft.Extensions.Logging;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Synthesis;

/// <summary>Watches membership; when a silo dies, the oldest surviving silo wakes the owners of the jobs that silo held, which pick them up again.</summary>
public sealed partial class DeviceFailureMonitor(
    IClusterMembershipService membership,
    ILocalSiloDetails localSilo,
    IGrainFactory grains,
    ILogger<DeviceFailureMonitor> logger)
    : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _watch;

    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(
            nameof(DeviceFailureMonitor),
            ServiceLifecycleStage.Active,
            _ =>
            {
                _watch = Task.Run(() => Watch(_stopping.Token), CancellationToken.None);
                return Task.CompletedTask;
            },
            async _ =>
            {
                await _stopping.CancelAsync();
                if (_watch is not null)
                {
                    await _watch.ContinueWith(static _ => { }, TaskScheduler.Default);
                }
            });
    }

    public void Dispose() => _stopping.Dispose();

    private async Task Watch(CancellationToken stopping)
    {
        var active = new Dictionary<SiloAddress, string>();
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stopping))
            {
                var died = new List<string>();
                foreach (var member in snapshot.Members.Values)
                {
                    if (member.Status == SiloStatus.Active)
                    {
                        active[member.SiloAddress] = member.Name;
                    }
                    else if (member.Status == SiloStatus.Dead && active.Remove(member.SiloAddress, out var name))
                    {
                        died.Add(name);
                    }
                }

                if (died.Count > 0 && IsOldestSurvivor(snapshot))
                {
                    foreach (var node in died)
                    {
                        await Redispatch(node);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The silo is stopping.
        }
    }

    private bool IsOldestSurvivor(ClusterMembershipSnapshot snapshot)
    {
        var oldest = snapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active)
            .OrderBy(m => m.SiloAddress.Generation)
            .ThenBy(m => m.SiloAddress.ToParsableString(), StringComparer.Ordinal)
            .FirstOrDefault();
        return oldest?.SiloAddress == localSilo.SiloAddress;
    }

    private async Task Redispatch(string node)
    {
        try
        {
            var owners = await grains.GetGrain<IJobLedgerGrain>(node).TakeAll();
            LogRedispatching(node, owners.Count);
            await Task.WhenAll(owners.Select(o => o.Value == JobOwners.Channel
                ? (Task)grains.GetGrain<IAudioChannelGrain>(o.Key).GetLastReleased()
                : grains.GetGrain<ITaskGrain>(o.Key).PickUp()));
        }
        catch (Exception e)
        {
            LogRedispatchFailed(node, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Node} died; waking the {Count} owners of its unfinished jobs")]
    private partial void LogRedispatching(string node, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Re-dispatching the tasks of dead silo {Node} failed")]
    private partial void LogRedispatchFailed(string node, Exception exception);
}
