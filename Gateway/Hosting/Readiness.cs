using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Hosting;

/// <summary>Whether this gateway should get traffic (<c>GET /api/v1/ready</c>): the cluster answers, Redis answers (cluster mode), an
/// engine has voices, the disk and memory have room, and the <see cref="WarmUp"/> is over. <c>/health</c> stays the liveness answer.</summary>
public sealed class Readiness(ClusterHealth cluster, IGrainFactory grains, ResourceMonitor resources, IConfiguration configuration, WarmUp warmUp)
{
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(2);

    /// <summary>Whether an answer is <c>/ready</c>'s unready verdict (a 503 on a path or route ending in <c>/ready</c>): the probe's
    /// answer, not a failure, for the request log and the error-rate alert alike.</summary>
    public static bool IsUnreadyVerdict(string? path, int status) =>
        status == StatusCodes.Status503ServiceUnavailable && path is not null && path.EndsWith("/ready", StringComparison.Ordinal);

    private readonly double _minFreeDiskMb = configuration.GetValue("monitoring:ready_min_free_disk_mb", 100.0);
    private readonly double _maxMemoryPercent = configuration.GetValue("monitoring:ready_max_memory_percent", 95.0);

    /// <summary>Each check's verdict (<c>ok</c> or what is wrong), and whether all passed.</summary>
    public async Task<(bool Ready, IReadOnlyDictionary<string, string> Checks)> Check()
    {
        var probeTask = cluster.Probe();
        var enginesTask = Engines();
        var probe = await probeTask;
        var checks = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["cluster"] = probe.Cluster ? "ok" : "unreachable",
            ["engines"] = await enginesTask,
            ["warm_up"] = warmUp.Completion.IsCompleted ? "ok" : "warming up",
        };
        if (probe.Redis is { } redis)
        {
            checks["redis"] = redis ? "ok" : "unreachable";
        }

        var sample = resources.Current;
        checks["disk"] = sample.DiskFreeMb <= 0 || sample.DiskFreeMb >= _minFreeDiskMb ? "ok" : $"low: {sample.DiskFreeMb:0} MB free";
        var memoryPercent = sample.MemoryTotalMb > 0 ? 100 * sample.MemoryMb / sample.MemoryTotalMb : 0;
        checks["memory"] = memoryPercent < _maxMemoryPercent ? "ok" : $"high: {memoryPercent:0.#} % used";
        return (checks.Values.All(v => v == "ok"), checks);
    }

    private async Task<string> Engines()
    {
        try
        {
            var voices = await grains.GetGrain<IVoiceCatalogGrain>(0).ListVoices().WaitAsync(s_limit);
            return voices.Any(v => v.IsAvailable) ? "ok" : "no voice available";
        }
        catch (Exception e) when (ClusterHealth.IsUnavailable(e) || e is OrleansException or InvalidOperationException)
        {
            return "unreachable";
        }
    }
}
