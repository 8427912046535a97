using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using MitTts.Grains.Configuration;

namespace MitTts.Gateway.Security;

/// <summary>Puts the rates changed through <c>PUT /api/v1/config</c> into <see cref="RateLimitOptions"/> and signals the change, so
/// <see cref="RateLimits"/> (which follows its options monitor) applies them at once on every gateway.</summary>
/// <remarks>Only a rate that was changed is replaced (as <c>N/minute</c>; 0 as <c>off</c>): one configured per second stays so.</remarks>
public sealed class LiveRateLimitOptions : IPostConfigureOptions<RateLimitOptions>, IOptionsChangeTokenSource<RateLimitOptions>, IDisposable
{
    private readonly LiveSettings _settings;
    private readonly IDisposable _subscription;
    private CancellationTokenSource _changed = new();

    public LiveRateLimitOptions(LiveSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _subscription = settings.OnChange(_ => Interlocked.Exchange(ref _changed, new CancellationTokenSource()).Cancel());
    }

    public string? Name => Options.DefaultName;

    public IChangeToken GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref _changed).Token);

    public void PostConfigure(string? name, RateLimitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var overrides = _settings.Overrides;
        options.Synthesize = Rate(overrides.SynthesizePerMinute) ?? options.Synthesize;
        options.Websocket = Rate(overrides.WebSocketPerMinute) ?? options.Websocket;
        options.Health = Rate(overrides.HealthPerMinute) ?? options.Health;
    }

    public void Dispose()
    {
        _subscription.Dispose();
        _changed.Dispose();
    }

    private static string? Rate(int? perMinute) => perMinute switch
    {
        null => null,
        0 => "off",
        var n => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{n}/minute"),
    };
}
