using System.Globalization;
using System.Text;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Security;

/// <summary>One API key: the user and role its tokens carry, and the SHA-256 of the key (hex), never the key itself.</summary>
public sealed class ApiKeyEntry
{
    public string? User { get; set; }

    public string Role { get; set; } = Roles.User;

    [ConfigurationKeyName("sha256")]
    public string? Sha256 { get; set; }
}

/// <summary>The roles a token or an API key may carry. The seed's HIGH priority is for premium users' requests: a <c>premium</c> token's
/// REST and OpenAI requests without a priority are queued HIGH, and it may ask up to <c>auth.premium_max_priority</c>.</summary>
public static class Roles
{
    public const string User = "user";
    public const string Premium = "premium";
    public const string Admin = "admin";

    /// <summary>The roles, as an error message lists them.</summary>
    public const string Listed = "'user', 'premium' or 'admin'";

    public static bool IsKnown(string? role) => role is User or Premium or Admin;
}

/// <summary>The <c>auth</c> section, plus the seed's <c>security.jwt_secret</c> (<c>MIT_TTS_JWT_SECRET</c>).</summary>
public sealed class AuthOptions
{
    public const string Section = "auth";

    /// <summary>The HS256 key, at least 32 bytes; none means auth is off (and the server serves loopback only).</summary>
    public string? JwtSecret { get; set; }

    /// <summary>Checked in tokens only when set.</summary>
    public string? Issuer { get; set; }

    public string? Audience { get; set; }

    /// <summary>Serve a non-loopback address without a secret, on purpose.</summary>
    public bool Disabled { get; set; }

    [ConfigurationKeyName("access_token_minutes")]
    public double AccessTokenMinutes { get; set; } = 30;

    [ConfigurationKeyName("refresh_token_days")]
    public double RefreshTokenDays { get; set; } = 7;

    [ConfigurationKeyName("api_keys")]
    public List<ApiKeyEntry> ApiKeys { get; set; } = [];

    /// <summary>The highest priority a <c>user</c> token may ask for (<c>normal</c>, <c>high</c> or <c>critical</c>, the default: no
    /// limit); admins may always ask for any. The seed keeps CRITICAL for interruptions and HIGH for premium users.</summary>
    [ConfigurationKeyName("user_max_priority")]
    public string UserMaxPriority { get; set; } = "critical";

    /// <summary><see cref="UserMaxPriority"/> read (valid once <see cref="Validate"/> passed).</summary>
    public Priority UserPriorityLimit => Limit(UserMaxPriority);

    /// <summary>The highest priority a <c>premium</c> token may ask for (default <c>critical</c>: no limit); its requests without a
    /// priority are HIGH.</summary>
    [ConfigurationKeyName("premium_max_priority")]
    public string PremiumMaxPriority { get; set; } = "critical";

    /// <summary><see cref="PremiumMaxPriority"/> read (valid once <see cref="Validate"/> passed).</summary>
    public Priority PremiumPriorityLimit => Limit(PremiumMaxPriority);

    /// <summary>The highest priority <paramref name="caller"/>'s role may ask for (an admin's is not capped; see the validator).</summary>
    public Priority PriorityLimitFor(Caller caller) => caller.IsPremium ? PremiumPriorityLimit : UserPriorityLimit;

    private static Priority Limit(string setting) => Apis.SynthesisRequestValidator.TryParsePriority(setting, out var limit) ? limit : Priority.Critical;

    public bool Enabled => !string.IsNullOrEmpty(JwtSecret);

    public static AuthOptions From(IConfiguration configuration)
    {
        var options = configuration.GetSection(Section).Get<AuthOptions>() ?? new AuthOptions();
        options.JwtSecret = configuration["security:jwt_secret"] is { Length: > 0 } seed ? seed : configuration["auth:jwt_secret"];
        options.ApiKeys.AddRange(ParseKeyList(configuration["auth:api_key_list"]));
        return options;
    }

    /// <summary>Refuses settings that would make tokens unsafe or keys unusable, naming the setting at fault.</summary>
    public void Validate()
    {
        if (Enabled && Encoding.UTF8.GetByteCount(JwtSecret!) < 32)
        {
            throw new InvalidOperationException("security.jwt_secret (MIT_TTS_JWT_SECRET) must be at least 32 bytes: an HS256 key shorter than its hash is guessable.");
        }

        foreach (var (key, setting) in new[] { ("user_max_priority", UserMaxPriority), ("premium_max_priority", PremiumMaxPriority) })
        {
            if (string.IsNullOrWhiteSpace(setting) || !Apis.SynthesisRequestValidator.TryParsePriority(setting, out _))
            {
                throw new InvalidOperationException($"auth.{key} must be normal, high or critical, not '{setting}'.");
            }
        }

        if (AccessTokenMinutes <= 0 || RefreshTokenDays <= 0)
        {
            throw new InvalidOperationException("auth.access_token_minutes and auth.refresh_token_days must be more than 0.");
        }

        foreach (var key in ApiKeys)
        {
            if (string.IsNullOrWhiteSpace(key.User) || key.Sha256 is not { Length: 64 } || !key.Sha256.All(Uri.IsHexDigit))
            {
                throw new InvalidOperationException($"auth.api_keys: every key needs a user and the 64 hex digits of its SHA-256 (key of user '{key.User}').");
            }

            if (!Roles.IsKnown(key.Role))
            {
                throw new InvalidOperationException($"auth.api_keys: role of user '{key.User}' must be {Roles.Listed}.");
            }
        }
    }

    /// <summary><c>MIT_TTS_API_KEYS</c>: <c>user:role:sha256</c> entries, comma separated.</summary>
    public static IEnumerable<ApiKeyEntry> ParseKeyList(string? list)
    {
        foreach (var item in (list ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = item.Split(':');
            if (parts.Length != 3)
            {
                throw new InvalidOperationException("MIT_TTS_API_KEYS: each entry is user:role:sha256.");
            }

            yield return new ApiKeyEntry { User = parts[0], Role = parts[1], Sha256 = parts[2] };
        }
    }
}

/// <summary>The seed's <c>security.rate_limits</c> (<c>"100/minute"</c>), per user (per client address when auth is off).</summary>
public sealed class RateLimitOptions
{
    public const string Section = "security:rate_limits";

    public string? Synthesize { get; set; } = "100/minute";

    public string? Websocket { get; set; } = "1000/minute";

    public string? Health { get; set; } = "1000/minute";

    /// <summary>Attempts at <c>POST /auth/token</c> per client address (an anonymous caller has no user to count under).</summary>
    public string? Auth { get; set; } = "30/minute";

    /// <summary>Without auth the server serves loopback only; its local callers (the agent beside it, a benchmark) are not limited
    /// unless this is false.</summary>
    [ConfigurationKeyName("exempt_loopback")]
    public bool ExemptLoopback { get; set; } = true;

    /// <summary>Tasks one user may have queued or running at once, in the whole cluster (REST and WebSocket); 0: no cap.</summary>
    [ConfigurationKeyName("max_active_tasks_per_user")]
    public int MaxActiveTasksPerUser { get; set; } = 100;

    /// <summary>WebSockets one user may hold open at once in the whole cluster; 0: no cap.</summary>
    [ConfigurationKeyName("max_sockets_per_user")]
    public int MaxSocketsPerUser { get; set; } = 50;

    /// <summary>Refused WebSocket messages in a row that close the socket (1008): a client that ignores <c>retry_after</c>.</summary>
    [ConfigurationKeyName("websocket_refusals_before_close")]
    public int WebSocketRefusalsBeforeClose { get; set; } = 20;

    public RateLimit? For(RateLimitKind kind) => Parse(kind switch
    {
        RateLimitKind.Synthesize => Synthesize,
        RateLimitKind.WebSocket => Websocket,
        RateLimitKind.Auth => Auth,
        _ => Health,
    }, kind);

    /// <summary><c>N/second|minute|hour|day</c>; empty, <c>0</c> or <c>off</c> is no limit.</summary>
    public static RateLimit? Parse(string? value, RateLimitKind kind)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Trim() is "0" or "off" or "none")
        {
            return null;
        }

        var parts = value.Split('/', StringSplitOptions.TrimEntries);
        TimeSpan? window = parts.Length == 2 ? parts[1].ToLowerInvariant() switch
        {
            "s" or "sec" or "second" => TimeSpan.FromSeconds(1),
            "m" or "min" or "minute" => TimeSpan.FromMinutes(1),
            "h" or "hour" => TimeSpan.FromHours(1),
            "d" or "day" => TimeSpan.FromDays(1),
            _ => null,
        } : null;
        if (window is null || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var permits) || permits <= 0)
        {
            throw new InvalidOperationException($"security.rate_limits.{kind.ToString().ToLowerInvariant()}: '{value}' is not N/second, N/minute, N/hour or N/day.");
        }

        return new RateLimit(permits, window.Value);
    }
}
