using Orleans.Concurrency;

namespace MitTts.Grains.Interfaces;

/// <summary>What a budget is for: the seed's rate limits (<c>security.rate_limits</c>).</summary>
public enum RateLimitKind
{
    Synthesize,
    WebSocket,
    Health,

    /// <summary>Attempts at <c>POST /auth/token</c>, per client address: API keys cannot be guessed at speed.</summary>
    Auth,
}

/// <summary>A budget: at most <see cref="Permits"/> in any <see cref="Window"/> (a sliding window; each permit comes back one window
/// after it was spent).</summary>
[GenerateSerializer, Immutable]
public sealed record RateLimit([property: Id(0)] int Permits, [property: Id(1)] TimeSpan Window);

/// <summary>What <see cref="IRateLimitGrain.Take"/> gave: <see cref="Granted"/> permits (0 when refused), and when to ask again.</summary>
[GenerateSerializer, Immutable]
public readonly record struct RateGrant([property: Id(0)] int Granted, [property: Id(1)] double RetryAfterSeconds);

/// <summary>Keys of <see cref="IRateLimitGrain"/>.</summary>
public static class RateLimitKeys
{
    public static string User(string userId) => "user:" + userId;
}

/// <summary>One caller's budgets (key: <c>user:{sub}</c>, or <c>ip:{address}</c> without auth) and, for a user, the tasks it has running
/// and the WebSockets it holds open. One activation in the whole cluster, so every gateway spends from the same budget. Held in memory:
/// when the silo holding it dies, its budgets start full elsewhere and its counts start at zero (lenient, never stricter).</summary>
public interface IRateLimitGrain : IGrainWithStringKey
{
    /// <summary>Counts <paramref name="taskId"/> as running unless <paramref name="max"/> tasks already are (true when counted; counting
    /// the same task twice is one).</summary>
    Task<bool> StartTask(string taskId, int max);

    /// <summary>The task ended (in any way); an unknown one is nothing.</summary>
    [OneWay]
    Task EndTask(string taskId);

    /// <summary>Counts socket <paramref name="socketId"/> as open for <paramref name="lease"/> unless <paramref name="max"/> sockets
    /// already are (true when counted; counting the same socket twice is one). A lease not renewed runs out: the sockets of a gateway
    /// that died stop counting without anyone closing them.</summary>
    Task<bool> OpenSocket(string socketId, int max, TimeSpan lease);

    /// <summary>Extends the leases of sockets still open (one call per user per renewal from each gateway). An unknown one stays
    /// unknown: it closed while the renewal was on its way, or this grain lost its count (lenient, like the budgets).</summary>
    Task RenewSockets(string[] socketIds, TimeSpan lease);

    /// <summary>The socket closed; an unknown one is nothing.</summary>
    [OneWay]
    Task CloseSocket(string socketId);

    /// <summary>Takes up to <paramref name="wanted"/> permits (as many as the budget has, at least one, or none) of
    /// <paramref name="kind"/>'s budget; <paramref name="limit"/> is the current setting (a changed one starts a full budget).</summary>
    Task<RateGrant> Take(RateLimitKind kind, int wanted, RateLimit limit);
}

/// <summary>The refresh tokens of one user (key: the user id, the tokens' <c>sub</c>): each can be redeemed once, until it expires
/// or is revoked. Persisted (in Redis in cluster mode), so a revocation holds on every gateway and across restarts.</summary>
public interface IRefreshTokenGrain : IGrainWithStringKey
{
    /// <summary>Records a newly issued refresh token (its <c>jti</c>) valid until <paramref name="expires"/>.</summary>
    Task Issue(string tokenId, DateTimeOffset expires);

    /// <summary>Uses the token up: true the first time for a live token, false after that and for unknown, expired or revoked ones.</summary>
    Task<bool> Redeem(string tokenId);

    /// <summary>Revokes one token; true when it was live.</summary>
    Task<bool> Revoke(string tokenId);
}
