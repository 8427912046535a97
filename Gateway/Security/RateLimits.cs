using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Security;

/// <summary>The current rate limits, parsed once per change of <see cref="RateLimitOptions"/>, and the cluster-wide limiter for a caller.</summary>
public sealed class RateLimits : IDisposable
{
    private readonly IGrainFactory _grains;
    private readonly TimeProvider _time;
    private readonly bool _authEnabled;
    private readonly IDisposable? _subscription;
    private volatile Parsed _current;

    /// <summary>The code of a refusal because the caller already has <see cref="RateLimitOptions.MaxActiveTasksPerUser"/> tasks queued or running.</summary>
    public const string TooManyActiveTasks = "too_many_active_tasks";

    /// <summary>What such a refusal says, on every API that gives it.</summary>
    public const string TooManyActiveTasksMessage = "You have as many tasks queued or running as you may; wait for one to end.";

    public RateLimits(IOptionsMonitor<RateLimitOptions> options, AuthOptions auth, IGrainFactory grains, TimeProvider time)
    {
        _grains = grains;
        _time = time;
        _authEnabled = auth.Enabled;
        _current = Parse(options.CurrentValue);
        _subscription = options.OnChange(changed => _current = Parse(changed));
        WebSocketMessages = PartitionedRateLimiter.Create<string, string>(
            partition => RateLimitPartition.Get(partition, key => Limiter(key, RateLimitKind.WebSocket)));
    }

    /// <summary>WebSocket messages, by partition: one limiter per caller on this gateway for all its sockets.</summary>
    public PartitionedRateLimiter<string> WebSocketMessages { get; }

    public int WebSocketRefusalsBeforeClose => _current.RefusalsBeforeClose;

    /// <summary>WebSockets one user may hold open at once in the cluster; 0: no cap.</summary>
    public int MaxSocketsPerUser => _current.MaxSockets;

    /// <summary>Counts <paramref name="taskId"/> among <paramref name="userId"/>'s running tasks, cluster-wide; false when the user is
    /// at its cap (no user, or no cap: always true).</summary>
    public async Task<bool> StartTask(string? userId, string taskId) =>
        userId is null || _current.MaxActiveTasks <= 0
        || await _grains.GetGrain<IRateLimitGrain>(RateLimitKeys.User(userId)).StartTask(taskId, _current.MaxActiveTasks);

    /// <summary>A task counted by <see cref="StartTask"/> that was not accepted after all.</summary>
    public void EndTask(string? userId, string taskId)
    {
        if (userId is not null && _current.MaxActiveTasks > 0)
        {
            _grains.GetGrain<IRateLimitGrain>(RateLimitKeys.User(userId)).EndTask(taskId).Ignore();
        }
    }

    public RateLimit? Limit(RateLimitKind kind) => _current.Limits[(int)kind];

    /// <summary>The budget partition of a caller: its user, else its address; null when it is not limited (with auth off, a loopback
    /// caller, unless <see cref="RateLimitOptions.ExemptLoopback"/> is false).</summary>
    public string? Partition(string? userId, IPAddress? address)
    {
        if (userId is not null)
        {
            return "user:" + userId;
        }

        if (address is null || (!_authEnabled && _current.ExemptLoopback && IPAddress.IsLoopback(address)))
        {
            return null;
        }

        return "ip:" + (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
    }

    /// <summary>A limiter for <paramref name="partition"/>'s budget of <paramref name="kind"/>, spending from its cluster-wide grain.</summary>
    public ClusterRateLimiter Limiter(string partition, RateLimitKind kind) =>
        new(_grains.GetGrain<IRateLimitGrain>(partition), kind, () => Limit(kind), _time);

    public void Dispose()
    {
        _subscription?.Dispose();
        WebSocketMessages.Dispose();
    }

    private static Parsed Parse(RateLimitOptions options) => new(
        [RateLimitOptions.Parse(options.Synthesize, RateLimitKind.Synthesize), RateLimitOptions.Parse(options.Websocket, RateLimitKind.WebSocket),
            RateLimitOptions.Parse(options.Health, RateLimitKind.Health), RateLimitOptions.Parse(options.Auth, RateLimitKind.Auth)],
        options.ExemptLoopback,
        Math.Max(1, options.WebSocketRefusalsBeforeClose),
        options.MaxActiveTasksPerUser,
        options.MaxSocketsPerUser);

    private sealed record Parsed(RateLimit?[] Limits, bool ExemptLoopback, int RefusalsBeforeClose, int MaxActiveTasks, int MaxSockets);
}
