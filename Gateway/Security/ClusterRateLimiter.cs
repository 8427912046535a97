using System.Threading.RateLimiting;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Security;

/// <summary>A caller's budget of one kind, spent from the cluster-wide <see cref="IRateLimitGrain"/>, so two gateways behind a load
/// balancer share one budget. Permits are fetched up to a second's worth at a time and spent here, so a high budget costs one grain
/// call per batch rather than per request; a batch is taken from the shared budget, so the limit holds across gateways (a gateway
/// may spend its batch a little after those permits came back: at most one second's worth more in a window). A limit changed live
/// applies at once: the batch fetched under the old one is dropped.</summary>
public sealed class ClusterRateLimiter(IRateLimitGrain grain, RateLimitKind kind, Func<RateLimit?> limit, TimeProvider time) : RateLimiter
{
    private static readonly RateLimitLease s_acquired = new Lease(true, null);
    private static readonly RateLimitLease s_notHere = new Lease(false, null);

    private readonly Lock _lock = new();
    private int _local;
    private RateLimit? _localLimit;
    private long _idleSince = time.GetTimestamp();

    public override TimeSpan? IdleDuration => time.GetElapsedTime(_idleSince);

    public override RateLimiterStatistics? GetStatistics() => null;

    /// <summary>Spends a permit already fetched; a failed lease without retry metadata means "ask the cluster" (<see cref="AcquireAsyncCore"/>).</summary>
    protected override RateLimitLease AttemptAcquireCore(int permitCount) => TryLocal(permitCount) ? s_acquired : s_notHere;

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        if (TryLocal(permitCount))
        {
            return s_acquired;
        }

        if (limit() is not { } current)
        {
            return s_acquired;
        }

        var batch = Math.Max(permitCount, (int)(current.Permits / current.Window.TotalSeconds));
        var grant = await grain.Take(kind, batch, current).WaitAsync(cancellationToken);
        if (grant.Granted < permitCount)
        {
            return new Lease(false, TimeSpan.FromSeconds(grant.RetryAfterSeconds));
        }

        lock (_lock)
        {
            _local = (Equals(_localLimit, current) ? _local : 0) + grant.Granted - permitCount;
            _localLimit = current;
        }

        return s_acquired;
    }

    private bool TryLocal(int permitCount)
    {
        var current = limit();
        lock (_lock)
        {
            _idleSince = time.GetTimestamp();
            if (!Equals(_localLimit, current))
            {
                // The limit changed live: permits fetched under the old one are not spent under the new one (the cluster budget counts
                // them as spent, and carries them over).
                _local = 0;
                _localLimit = current;
            }

            if (_local >= permitCount)
            {
                _local -= permitCount;
                return true;
            }

            return false;
        }
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            if (retryAfter is { } after && metadataName == MetadataName.RetryAfter.Name)
            {
                metadata = after;
                return true;
            }

            metadata = null;
            return false;
        }
    }
}
