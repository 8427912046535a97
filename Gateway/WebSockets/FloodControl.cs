using System.Threading.RateLimiting;

namespace MitTts.Gateway.WebSockets;

/// <summary>One socket's budget of client messages: bursts of two seconds' worth, then the configured rate; past it the socket is closed.</summary>
public sealed class FloodControl : IDisposable
{
    private readonly TokenBucketRateLimiter _bucket;

    public FloodControl(double messagesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(messagesPerSecond);

        // Without auto-replenishment the bucket refills continuously, by the time since it last did, whenever it is asked:
        // no timer per socket. The period only sets the rate: TokensPerPeriod / ReplenishmentPeriod = messagesPerSecond.
        var tokensPerPeriod = Math.Max(1, (int)Math.Round(messagesPerSecond));
        _bucket = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, (int)(messagesPerSecond * 2)),
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = TimeSpan.FromSeconds(tokensPerPeriod / messagesPerSecond),
            AutoReplenishment = false,
            QueueLimit = 0,
        });
        CloseDescription = $"more than {messagesPerSecond} messages per second";
    }

    /// <summary>The close reason sent with 1008 when <see cref="TryAccept"/> refuses.</summary>
    public string CloseDescription { get; }

    /// <summary>Takes one message from the budget; false when the client is flooding.</summary>
    public bool TryAccept()
    {
        _bucket.TryReplenish();
        using var lease = _bucket.AttemptAcquire();
        return lease.IsAcquired;
    }

    public void Dispose() => _bucket.Dispose();
}
