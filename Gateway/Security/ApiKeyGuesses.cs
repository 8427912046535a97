using System.Collections.Concurrent;
using System.Net;
using System.Threading.RateLimiting;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Security;

/// <summary>The API-key guessing budget of the OpenAI paths, where a bearer may be an API key: each wrong key spends from the same
/// per-address budget as <c>POST /auth/token</c> (<c>security:rate_limits:auth</c>), and an address that has spent it is refused every
/// API key, right or wrong, until the budget comes back, so that keys cannot be guessed at speed there either.</summary>
public sealed class ApiKeyGuesses(RateLimits limits, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, long> _lockedUntil = new(StringComparer.Ordinal);

    /// <summary>How long <paramref name="address"/> must still wait before its next API key is even compared; null when it need not.</summary>
    public TimeSpan? Locked(IPAddress? address)
    {
        if (Partition(address) is not { } partition || !_lockedUntil.TryGetValue(partition, out var until))
        {
            return null;
        }

        var left = TimeSpan.FromTicks(until - time.GetUtcNow().UtcTicks);
        if (left > TimeSpan.Zero)
        {
            return left;
        }

        _lockedUntil.TryRemove(new KeyValuePair<string, long>(partition, until));
        return null;
    }

    /// <summary>Spends one attempt of <paramref name="address"/>'s budget for a wrong key; returns how long it must wait when that was
    /// the last one (it is locked out until then), else null.</summary>
    public async Task<TimeSpan?> Failed(IPAddress? address, CancellationToken cancellationToken)
    {
        if (Partition(address) is not { } partition)
        {
            return null;
        }

        using var limiter = limits.Limiter(partition, RateLimitKind.Auth);
        using var lease = await limiter.AcquireAsync(1, cancellationToken);
        if (lease.IsAcquired)
        {
            return null;
        }

        var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.Zero ? after : TimeSpan.FromSeconds(1);
        _lockedUntil[partition] = (time.GetUtcNow() + wait).UtcTicks;
        return wait;
    }

    private string? Partition(IPAddress? address) => limits.Limit(RateLimitKind.Auth) is null ? null : limits.Partition(null, address);
}
