using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Synthesis;

/// <summary>Sends a task to the device that will start it soonest (least work ahead, in seconds), preferring the session's node on a tie.</summary>
public sealed class SynthesisDispatcher(IGrainFactory grains)
{
    // Work-ahead figures closer than this count as equal, so the session's node wins near-ties.
    private const double TieSeconds = 0.05;

    /// <summary>The accepted ticket, or the refusal with the shortest retry-after when every device is full.</summary>
    public async Task<QueueTicket> Dispatch(SynthesisJob job, string? preferredNode, string? avoidDevice = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        var devices = (await grains.GetGrain<IDeviceDirectoryGrain>(0).GetDevices()).Where(d => d != avoidDevice).ToArray();
        if (devices.Length == 0)
        {
            throw new InvalidOperationException("No synthesis device is active in the cluster.");
        }

        if (devices.Length == 1)
        {
            // Nothing to choose between: skip the status round trip.
            return await grains.GetGrain<ISynthesizerGrain>(devices[0]).Enqueue(job);
        }

        // A device whose silo died a moment ago may still be listed: it is skipped, not fatal.
        var statuses = (await Task.WhenAll(devices.Select(TryGetStatus))).OfType<SynthesizerStatus>().ToArray();
        QueueTicket? refusal = null;
        foreach (var status in Rank(statuses, preferredNode))
        {
            QueueTicket ticket;
            try
            {
                ticket = await grains.GetGrain<ISynthesizerGrain>(status.DeviceKey).Enqueue(job);
            }
            catch (OrleansException)
            {
                continue;
            }

            if (ticket.Accepted)
            {
                return ticket;
            }

            if (refusal is null || ticket.RetryAfterSeconds < refusal.RetryAfterSeconds)
            {
                refusal = ticket;
            }
        }

        return refusal ?? throw new InvalidOperationException("No synthesis device answered.");
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
