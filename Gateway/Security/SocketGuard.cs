using System.Net;
using System.Threading.RateLimiting;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Security;

/// <summary>What one WebSocket may do: who it is (from the upgrade's token, or its <c>connect</c> message's <c>auth_token</c>), its place
/// among its user's open sockets, and its share of its user's cluster-wide message budget.</summary>
public sealed class SocketGuard(TokenService tokens, RateLimits limits, SocketLeases leases, bool authEnabled, Caller? caller, IPAddress? address)
    : IDisposable
{
    private readonly string _socketId = "ws_" + Guid.NewGuid().ToString("N");
    private volatile Caller? _caller = authEnabled ? caller : Caller.Anonymous;
    private int _refusedInARow;
    private string? _countedUser;
    private bool _refused;

    /// <summary>Close code for a socket that did not authenticate (the HTTP 401 of WebSockets, in the application range).</summary>
    public const int Unauthenticated = 4401;

    /// <summary>The socket's user; null while auth is on and no valid token has been shown yet.</summary>
    public Caller? Caller => _caller;

    /// <summary>Authenticates with the token a <c>connect</c> message carried; false when it is not a valid access token. A socket the
    /// upgrade's token already signed in may leave it out, but one it shows must be valid and the same user's: a token shown any way
    /// that does not validate closes the socket (docs/websocket.md, Auth), never silently ignored.</summary>
    public async Task<bool> Authenticate(string? token)
    {
        // The seed's example shows the token as an Authorization header value would carry it: "Bearer <jwt>" is the same token.
        if (token is not null && token.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            token = token["Bearer ".Length..].Trim();
        }

        if (Caller is { } known)
        {
            return !authEnabled || token is null
                || (await tokens.ValidateAccess(token) is { } shown && Caller.From(shown) is { UserId: { } user } && user == known.UserId);
        }

        if (await tokens.ValidateAccess(token) is { } principal && Caller.From(principal) is { UserId: not null } found)
        {
            _caller = found;
            return true;
        }

        return false;
    }

    /// <summary>Counts this socket among its user's open sockets in the cluster, once it knows its user (the verdict is kept: asking
    /// again costs nothing); false when the user held its cap of sockets already.</summary>
    public async Task<bool> CountSocket()
    {
        if (_refused)
        {
            return false;
        }

        if (_countedUser is not null || Caller?.UserId is not { } user || limits.MaxSocketsPerUser <= 0)
        {
            return true;
        }

        if (!await leases.Open(user, _socketId, limits.MaxSocketsPerUser))
        {
            _refused = true;
            return false;
        }

        _countedUser = user;
        return true;
    }

    /// <summary>Counts a task of this socket's user (cluster-wide); false at the user's cap.</summary>
    public Task<bool> StartTask(string taskId) => limits.StartTask(Caller?.UserId, taskId);

    /// <summary>A counted task that was not accepted after all.</summary>
    public void EndTask(string taskId) => limits.EndTask(Caller?.UserId, taskId);

    public void Dispose()
    {
        if (_countedUser is not null)
        {
            leases.Close(_countedUser, _socketId);
            _countedUser = null;
        }
    }

    /// <summary>Takes one message from the budget: null when it may go on, else the seconds to wait (the message is refused), and
    /// whether the client has ignored that so often in a row that the socket is to be closed.</summary>
    public async ValueTask<(double? RetryAfter, bool Close)> Admit(CancellationToken cancellationToken)
    {
        if (limits.Limit(RateLimitKind.WebSocket) is null || limits.Partition(Caller?.UserId, address) is not { } partition)
        {
            return (null, false);
        }

        using var lease = await limits.WebSocketMessages.AcquireAsync(partition, 1, cancellationToken);
        if (lease.IsAcquired)
        {
            _refusedInARow = 0;
            return (null, false);
        }

        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, Math.Ceiling(after.TotalSeconds)) : 1;
        return (retryAfter, ++_refusedInARow >= limits.WebSocketRefusalsBeforeClose);
    }
}
