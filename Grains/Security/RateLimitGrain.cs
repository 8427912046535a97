using System.Threading.RateLimiting;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Security;

/// <summary>One caller's token buckets, one per <see cref="RateLimitKind"/>, its running tasks and its open sockets (leased until
/// renewed); see <see cref="IRateLimitGrain"/>.</summary>
public sealed class RateLimitGrain(TimeProvider time) : Grain, IRateLimitGrain
{
    private readonly Dictionary<RateLimitKind, (RateLimit Limit, TokenBucketRateLimiter Bucket)> _buckets = [];
    private readonly HashSet<string> _running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _sockets = new(StringComparer.Ordinal);

    public Task<bool> OpenSocket(string socketId, int max, TimeSpan lease)
    {
        var now = time.GetUtcNow();
        foreach (var (id, expires) in _sockets)
        {
            if (expires <= now)
            {
                _sockets.Remove(id);
            }
        }

        if (!_sockets.ContainsKey(socketId) && _sockets.Count >= max)
        {
            return Task.FromResult(false);
        }

        _sockets[socketId] = now + lease;
        return Task.FromResult(true);
    }

    public Task RenewSockets(string[] socketIds, TimeSpan lease)
    {
        ArgumentNullException.ThrowIfNull(socketIds);
        var expires = time.GetUtcNow() + lease;
        foreach (var id in socketIds)
        {
            if (_sockets.ContainsKey(id))
            {
                _sockets[id] = expires;
            }
        }

        return Task.CompletedTask;
    }

    public Task CloseSocket(string socketId)
    {
        _sockets.Remove(socketId);
        return Task.CompletedTask;
    }

    public Task<bool> StartTask(string taskId, int max) => Task.FromResult(_running.Contains(taskId) || (_running.Count < max && _running.Add(taskId)));

    public Task EndTask(string taskId)
    {
        _running.Remove(taskId);
        return Task.CompletedTask;
    }

    public Task<RateGrant> Take(RateLimitKind kind, int wanted, RateLimit limit)
    {
        ArgumentNullException.ThrowIfNull(limit);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit.Permits);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(limit.Window, TimeSpan.Zero);
        if (!_buckets.TryGetValue(kind, out var entry) || entry.Limit != limit)
        {
            entry.Bucket?.Dispose();
            entry = (limit, NewBucket(limit));
            _buckets[kind] = entry;
        }

        var bucket = entry.Bucket;
        bucket.TryReplenish();
        var retryAfter = TimeSpan.Zero;
        for (var count = Math.Clamp(wanted, 1, limit.Permits); count >= 1; count /= 2)
        {
            using var lease = bucket.AttemptAcquire(count);
            if (lease.IsAcquired)
            {
                return Task.FromResult(new RateGrant(count, 0));
            }

            if (lease.TryGetMetadata(MetadataName.RetryAfter, out var after))
            {
                retryAfter = after;
            }
        }

        // The bucket says how long until the permit it lacked comes back; at least a refill period.
        var period = limit.Window / limit.Permits;
        return Task.FromResult(new RateGrant(0, Math.Max(retryAfter.TotalSeconds, period.TotalSeconds)));
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        foreach (var (_, bucket) in _buckets.Values)
        {
            bucket.Dispose();
        }

        return Task.CompletedTask;
    }

    /// <summary>Without auto-replenishment the bucket refills by the time since it last did, whenever it is asked: no timer.
    /// One permit per <c>Window / Permits</c>, so <c>Permits</c> per window at most after a full burst.</summary>
    private static TokenBucketRateLimiter NewBucket(RateLimit limit) => new(new TokenBucketRateLimiterOptions
    {
        TokenLimit = limit.Permits,
        TokensPerPeriod = 1,
        ReplenishmentPeriod = limit.Window / limit.Permits,
        AutoReplenishment = false,
        QueueLimit = 0,
    });
}
