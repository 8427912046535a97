using MitTts.Grains.Interfaces;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace MitTts.Grains.Synthesis;

/// <summary>A job started on a synthesizer: the enumeration its owner pulls, and where it landed (or why it was refused).</summary>
public sealed record DispatchedJob(IAsyncEnumerator<SynthesisEvent>? Events, JobQueued? Queued, TaskError? Refusal);

/// <summary>Starts a job on the device that will run it soonest (least work ahead, in seconds), preferring the session's node on a tie.</summary>
/// <remarks>A silo service: the device list comes from this silo's own membership view, not a grain call (one in-silo call less before
/// every job, on the path to first audio).</remarks>
public sealed class SynthesisDispatcher(IGrainFactory grains, IClusterMembershipService membership, ISiloMetadataCache metadata, TimeProvider time)
{
    // Work-ahead figures closer than this count as equal, so the session's node wins near-ties.
    private const double TieSeconds = 0.05;

    // How long a job whose device died keeps looking for another one: membership takes a few seconds to agree that a killed silo is
    // dead (its device is listed but does not answer), and a cluster whose every silo restarts has no device for a moment.
    private static readonly TimeSpan[] s_restartDelays =
        [TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1),
         TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(8)];

    /// <summary>Starts a job again after its device was lost: <paramref name="lostDevice"/> is tried last, and while no device answers
    /// the start is retried with back-off (about 24 s in all) before the last failure is thrown.</summary>
    public async Task<DispatchedJob> Restart(SynthesisJob job, string? preferredNode, string? lostDevice, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await Start(job, preferredNode, lostDevice, cancellationToken);
            }
            catch (Exception e) when (attempt < s_restartDelays.Length && !cancellationToken.IsCancellationRequested
                                      && e is OrleansException or TimeoutException or InvalidOperationException)
            {
                await Task.Delay(s_restartDelays[attempt], time, cancellationToken);
            }
        }
    }

    /// <summary>The accepted job, or the refusal with the shortest retry-after when every device is full.</summary>
    /// <remarks>The caller owns the returned enumerator: it pulls it to the end, or disposes it (which cancels the job).</remarks>
    /// <remarks><paramref name="avoidDevice"/> (one that just failed the job) goes last: still used when it is the only one listed.</remarks>
    public async Task<DispatchedJob> Start(SynthesisJob job, string? preferredNode, string? avoidDevice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var devices = DeviceDirectory.Devices(membership, metadata);
        if (devices.Count == 0)
        {
            throw new InvalidOperationException("No synthesis device is active in the cluster.");
        }

        TaskError? refusal = null;
        string? tried = null;
        var (local, localStatuses) = devices.Count > 1 && avoidDevice is null ? await IdleOnNode(devices, preferredNode) : (null, []);
        if (local is not null)
        {
            // Ranked first whatever the other devices say (see Rank), so they are not asked: on a cluster with room, a job costs no call
            // to any other silo before it starts. Refused (its silo is stopping) or gone, the job goes on to the full ranking.
            tried = local;
            var (started, refused) = await TryStart(local, job, lastChance: false, cancellationToken);
            if (started is not null)
            {
                return started;
            }

            refusal = refused;
        }

        var order = new List<string>(devices.Count);
        if (devices.Count == 1)
        {
            order.Add(devices[0]);
        }
        else
        {
            // A device whose silo died a moment ago may still be listed: it is skipped, not fatal. The node's own devices were asked already.
            var asked = new HashSet<string>(localStatuses.Select(s => s.DeviceKey), StringComparer.Ordinal);
            var others = await Task.WhenAll(devices.Where(d => !asked.Contains(d)).Select(TryGetStatus));
            var statuses = localStatuses.Where(s => s.DeviceKey != tried).Concat(others.OfType<SynthesizerStatus>()).ToArray();
            order.AddRange(Rank(statuses, preferredNode).Select(s => s.DeviceKey));
        }

        if (avoidDevice is not null && order.Count > 1 && order.Remove(avoidDevice))
        {
            order.Add(avoidDevice);
        }

        foreach (var deviceKey in order)
        {
            var (started, refused) = await TryStart(deviceKey, job, lastChance: order.Count == 1 && tried is null, cancellationToken);
            if (started is not null)
            {
                return started;
            }

            if (refused is not null && (refusal is null || refused.RetryAfterSeconds < refusal.RetryAfterSeconds))
            {
                refusal = refused;
            }
        }

        return refusal is null
            ? throw new InvalidOperationException("No synthesis device answered.")
            : new DispatchedJob(null, null, refusal);
    }

    /// <summary>The device of <paramref name="node"/> that the full ranking would put first whatever the others' figures, because it
    /// has (almost) nothing ahead of it (null when there is none, or the node has every device), and the figures of the node's devices.</summary>
    private async Task<(string? Idle, SynthesizerStatus[] Statuses)> IdleOnNode(IReadOnlyList<string> devices, string? node)
    {
        if (node is null)
        {
            return (null, []);
        }

        var local = new List<string>(2);
        foreach (var device in devices)
        {
            if (DeviceKeys.Node(device) == node)
            {
                local.Add(device);
            }
        }

        if (local.Count == 0 || local.Count == devices.Count)
        {
            return (null, []);
        }

        var statuses = (await Task.WhenAll(local.Select(TryGetStatus))).OfType<SynthesizerStatus>().ToArray();
        var ranked = Rank(statuses, node);
        return (ranked.Count > 0 && ranked[0].WorkAheadSeconds <= TieSeconds ? ranked[0].DeviceKey : null, statuses);
    }

    /// <summary>Asks one device to take the job: the started job, or the device's refusal, or neither when it did not answer (an
    /// unreachable device is skipped unless it is the <paramref name="lastChance"/>, whose failure is thrown).</summary>
    private async Task<(DispatchedJob? Started, TaskError? Refusal)> TryStart(string deviceKey, SynthesisJob job, bool lastChance, CancellationToken cancellationToken)
    {
        IAsyncEnumerator<SynthesisEvent>? events = null;
        try
        {
            events = grains.GetGrain<ISynthesizerGrain>(deviceKey).Synthesize(job, cancellationToken).GetAsyncEnumerator(cancellationToken);
            if (!await events.MoveNextAsync())
            {
                await events.DisposeAsync();
                return (null, null);
            }
        }
        catch (Exception e) when (e is OrleansException or TimeoutException && !lastChance)
        {
            if (events is not null)
            {
                await DisposeQuietly(events);
            }

            return (null, null);
        }

        switch (events.Current)
        {
            case JobQueued queued:
                return (new DispatchedJob(events, queued, null), null);
            case JobRefused refused:
                await events.DisposeAsync();
                return (null, refused.Error);
            default:
                await events.DisposeAsync();
                throw new InvalidOperationException($"Synthesizer {deviceKey} answered {events.Current.GetType().Name} before queueing the job.");
        }
    }

    /// <summary>Disposes a job's enumeration whose synthesizer may be gone (disposing cancels the job where it still runs).</summary>
    internal static async Task DisposeQuietly(IAsyncEnumerator<SynthesisEvent> events)
    {
        try
        {
            await events.DisposeAsync();
        }
        catch (Exception e) when (e is OrleansException or TimeoutException or OperationCanceledException)
        {
            // Its silo is gone; nothing is left to release.
        }
    }

    private async Task<SynthesizerStatus?> TryGetStatus(string deviceKey)
    {
        try
        {
            return await grains.GetGrain<ISynthesizerGrain>(deviceKey).GetStatus();
        }
        catch (OrleansException)
        {
            return null;
        }
    }

    /// <summary>Least work ahead first (an idle device before a busy one with the same estimate); a device on the
    /// preferred node moves to the front when its work ahead is within <see cref="TieSeconds"/> of the best.</summary>
    public static IReadOnlyList<SynthesizerStatus> Rank(IReadOnlyList<SynthesizerStatus> statuses, string? preferredNode)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        var ranked = statuses
            .OrderBy(s => s.WorkAheadSeconds)
            .ThenBy(s => s.Busy)
            .ThenBy(s => s.QueueLength)
            .ThenBy(s => s.DeviceKey, StringComparer.Ordinal)
            .ToList();
        if (preferredNode is not null && ranked.Count > 1)
        {
            var limit = ranked[0].WorkAheadSeconds + TieSeconds;
            var preferred = ranked.FindIndex(s => DeviceKeys.Node(s.DeviceKey) == preferredNode && s.WorkAheadSeconds <= limit);
            if (preferred > 0)
            {
                var device = ranked[preferred];
                ranked.RemoveAt(preferred);
                ranked.Insert(0, device);
            }
        }

        return ranked;
    }
}
