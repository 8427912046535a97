using System.Globalization;
using Microsoft.Extensions.Configuration;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Configuration;

/// <summary>Requests allowed per minute and client, by kind (the seed's <c>security.rate_limits</c>).</summary>
public sealed record RateLimitSettings(int SynthesizePerMinute, int WebSocketPerMinute, int HealthPerMinute);

/// <summary>The settings in effect in this process now: its configuration with the cluster's live overrides on top, and the overrides'
/// <c>Version</c> (0: none applied yet).</summary>
public sealed record LiveConfig(
    long Version,
    RateLimitSettings RateLimits,
    string DefaultVoice,
    int CacheSize,
    int MaxTextLength,
    int MaxQueuePerLevel,
    string LogLevel);

/// <summary>This process's live settings, like an <c>IOptionsMonitor</c>: <see cref="Current"/> is a snapshot that is replaced whole when
/// the cluster's overrides change, and <see cref="OnChange"/> tells whoever holds derived state (log level, cache size).</summary>
/// <remarks>Thread-safe; reading <see cref="Current"/> is one volatile read, cheap enough for every request.</remarks>
public sealed class LiveSettings
{
    private readonly LiveConfig _configured;
    private readonly Lock _gate = new();

    // One Apply at a time, its listeners included: the gateway that took a PUT applies its answer, and its watcher may apply the same
    // version a moment before; the PUT must not answer until the watcher's listeners (the rate limiter among them) have it.
    private readonly Lock _applying = new();
    private readonly List<Action<LiveConfig>> _listeners = [];
    private volatile LiveConfig _current;
    private volatile LiveConfigOverrides _overrides = LiveConfigOverrides.None;

    public LiveSettings(IConfiguration configuration)
        : this(FromConfiguration(configuration))
    {
    }

    public LiveSettings(LiveConfig configured)
    {
        _configured = configured;
        _current = configured;
    }

    /// <summary>The settings in effect now.</summary>
    public LiveConfig Current => _current;

    /// <summary>What the cluster changed at run time (null fields: as configured), for settings whose configured form says more than
    /// <see cref="Current"/> does (a rate configured per second stays per second until it is changed).</summary>
    public LiveConfigOverrides Overrides => _overrides;

    /// <summary>Calls <paramref name="listener"/> with each new snapshot; dispose the result to stop.</summary>
    public IDisposable OnChange(Action<LiveConfig> listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        lock (_gate)
        {
            _listeners.Add(listener);
        }

        return new Subscription(this, listener);
    }

    /// <summary>Puts <paramref name="overrides"/> on top of this process's configuration, unless they are older than what is in effect;
    /// returns once every listener has been told (also when another thread was applying the same version).</summary>
    public void Apply(LiveConfigOverrides overrides)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        lock (_applying)
        {
            ApplyAndNotify(overrides);
        }
    }

    private void ApplyAndNotify(LiveConfigOverrides overrides)
    {
        Action<LiveConfig>[] listeners;
        LiveConfig next;
        lock (_gate)
        {
            if (overrides.Version != 0 && overrides.Version <= _current.Version)
            {
                return;
            }

            next = new LiveConfig(
                overrides.Version,
                new RateLimitSettings(
                    overrides.SynthesizePerMinute ?? _configured.RateLimits.SynthesizePerMinute,
                    overrides.WebSocketPerMinute ?? _configured.RateLimits.WebSocketPerMinute,
                    overrides.HealthPerMinute ?? _configured.RateLimits.HealthPerMinute),
                overrides.DefaultVoice ?? _configured.DefaultVoice,
                overrides.CacheSize ?? _configured.CacheSize,
                overrides.MaxTextLength ?? _configured.MaxTextLength,
                overrides.MaxQueuePerLevel ?? _configured.MaxQueuePerLevel,
                overrides.LogLevel ?? _configured.LogLevel);
            _current = next;
            _overrides = overrides;
            listeners = [.. _listeners];
        }

        foreach (var listener in listeners)
        {
            listener(next);
        }
    }

    /// <summary>The configured values (the seed's keys and defaults), before any override.</summary>
    public static LiveConfig FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var limits = configuration.GetSection("security:rate_limits");
        return new LiveConfig(
            0,
            new RateLimitSettings(
                PerMinute(limits, "synthesize", 100),
                PerMinute(limits, "websocket", 1000),
                PerMinute(limits, "health", 1000)),
            configuration["tts:default_voice"] is { Length: > 0 } voice ? voice : "es-female-1",
            configuration.GetValue("tts:cache_size", 1000),
            configuration.GetValue("tts:max_text_length", 5000),
            configuration.GetValue("scheduling:max_queue_per_level", 500),
            configuration["logging:level"] is { Length: > 0 } level ? level.Trim().ToUpperInvariant() : "INFO");
    }

    /// <summary>A rate as the seed writes it (<c>"100/minute"</c>, also <c>/second</c>, <c>/hour</c>, <c>/day</c>; <c>off</c> is 0) or
    /// <c>{kind}_per_minute</c>.</summary>
    public static int PerMinute(IConfiguration limits, string kind, int fallback)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (limits[kind + "_per_minute"] is { } perMinute)
        {
            return int.Parse(perMinute, CultureInfo.InvariantCulture);
        }

        if (limits[kind] is not { } rate)
        {
            return fallback;
        }

        if (string.IsNullOrWhiteSpace(rate) || rate.Trim() is "0" or "off" or "none")
        {
            return 0;
        }

        var parts = rate.Split('/', StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            throw new InvalidOperationException($"security.rate_limits.{kind} must look like '100/minute', not '{rate}'.");
        }

        return parts[1].ToLowerInvariant() switch
        {
            "second" or "s" => checked(count * 60),
            "minute" or "min" or "m" => count,
            "hour" or "h" => Math.Max(1, count / 60),
            "day" or "d" => Math.Max(1, count / (60 * 24)),
            _ => throw new InvalidOperationException($"security.rate_limits.{kind}: the period must be second, minute, hour or day, not '{parts[1]}'."),
        };
    }

    private sealed class Subscription(LiveSettings settings, Action<LiveConfig> listener) : IDisposable
    {
        public void Dispose()
        {
            lock (settings._gate)
            {
                settings._listeners.Remove(listener);
            }
        }
    }
}
