using MitTts.Grains.Interfaces;
using MitTts.Silo;
using Orleans.Runtime.Messaging;
using StackExchange.Redis;

namespace MitTts.Gateway.Hosting;

/// <summary>Whether the cluster and its Redis answer, and which failures mean "the cluster is unavailable" (HTTP 503).</summary>
public sealed class ClusterHealth(IGrainFactory grains, GatewayMode mode) : IAsyncDisposable
{
    private static readonly TimeSpan s_probeLimit = TimeSpan.FromSeconds(2);

    private readonly Lazy<ConnectionMultiplexer>? _redis = mode.RedisUrl is { } url
        ? new(() => ConnectionMultiplexer.Connect(RedisConnection.Parse(url)))
        : null;

    /// <summary>Probes the grains (one call) and, in cluster mode, Redis (one PING).</summary>
    public async Task<ClusterProbe> Probe()
    {
        var clusterTask = ProbeCluster();
        var redisTask = ProbeRedis();
        return new ClusterProbe(await clusterTask, await redisTask);
    }

    private async Task<bool> ProbeCluster()
    {
        try
        {
            await grains.GetGrain<IDeviceDirectoryGrain>(0).GetDevices().WaitAsync(s_probeLimit);
            return true;
        }
        catch (Exception e) when (IsUnavailable(e) || e is OrleansException or InvalidOperationException)
        {
            return false;
        }
    }

    private async Task<bool?> ProbeRedis()
    {
        if (_redis is null)
        {
            return null;
        }

        try
        {
            await _redis.Value.GetDatabase().PingAsync().WaitAsync(s_probeLimit);
            return true;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Whether a grain call's failure is the cluster's (Orleans, or its storage unreachable), not the request's: a socket reports
    /// it as <c>cluster_unavailable</c> and stays open.</summary>
    public static bool IsClusterFailure(Exception exception) => exception is OrleansException || IsUnavailable(exception);

    /// <summary>Whether <paramref name="exception"/> (or one it wraps) says the cluster or its storage is unreachable, not that the request was wrong.</summary>
    public static bool IsUnavailable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is TimeoutException or SiloUnavailableException or OrleansMessageRejectionException or ConnectionFailedException
                or GatewayTooBusyException or RedisException or Orleans.Persistence.Redis.RedisStorageException
                or Orleans.Clustering.Redis.RedisClusteringException)
            {
                return true;
            }

            // A client that has not yet reached any silo knows no grain implementations.
            if (e is ArgumentException && e.Message.StartsWith("Could not find an implementation for interface", StringComparison.Ordinal))
            {
                return true;
            }

            if (e is AggregateException aggregate && aggregate.InnerExceptions.Any(IsUnavailable))
            {
                return true;
            }
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (_redis is { IsValueCreated: true })
        {
            await _redis.Value.DisposeAsync();
        }
    }
}

/// <summary>One health probe: whether the grains answered, and whether Redis did (null without Redis).</summary>
public sealed record ClusterProbe(bool Cluster, bool? Redis)
{
    /// <summary><c>healthy</c>; <c>degraded</c> when the grains answer but Redis does not (new tasks fail, running ones go on);
    /// <c>unhealthy</c> when the grains do not answer.</summary>
    public string Status => !Cluster ? "unhealthy" : Redis is false ? "degraded" : "healthy";
}
