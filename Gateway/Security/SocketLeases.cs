using System.Collections.Concurrent;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Security;

/// <summary>This gateway's counted WebSockets. Each is leased in its user's <see cref="IRateLimitGrain"/>, so the per-user cap of sockets
/// holds across gateways; one loop renews the leases of every open socket well before they run out, so when a gateway dies its users'
/// sockets stop counting within one <see cref="Lease"/>, with nobody left to close them.</summary>
public sealed partial class SocketLeases(IGrainFactory grains, ILogger<SocketLeases> logger) : BackgroundService
{
    /// <summary>How long a socket counts without a renewal.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan s_renewEvery = Lease / 3;

    // Socket id → its user.
    private readonly ConcurrentDictionary<string, string> _open = new(StringComparer.Ordinal);

    /// <summary>Counts <paramref name="socketId"/> among <paramref name="userId"/>'s open sockets in the cluster; false when the user
    /// already holds <paramref name="max"/>.</summary>
    public async Task<bool> Open(string userId, string socketId, int max)
    {
        if (!await Grain(userId).OpenSocket(socketId, max, Lease))
        {
            return false;
        }

        _open[socketId] = userId;
        return true;
    }

    /// <summary>A socket counted by <see cref="Open"/> closed.</summary>
    public void Close(string userId, string socketId)
    {
        _open.TryRemove(socketId, out _);
        Grain(userId).CloseSocket(socketId).Ignore();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(s_renewEvery);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            foreach (var user in _open.GroupBy(socket => socket.Value, socket => socket.Key, StringComparer.Ordinal))
            {
                try
                {
                    await Grain(user.Key).RenewSockets([.. user], Lease);
                }
                catch (Exception e) when (e is OrleansException or TimeoutException or InvalidOperationException)
                {
                    // The next renewal asks again, well within the lease.
                    LogRenewFailed(e);
                }
            }
        }
    }

    private IRateLimitGrain Grain(string userId) => grains.GetGrain<IRateLimitGrain>(RateLimitKeys.User(userId));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the leases of open WebSockets failed")]
    private partial void LogRenewFailed(Exception exception);
}
