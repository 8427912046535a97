using Microsoft.Extensions.Options;
using System.Buffers;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using MitTts.Gateway.Apis;
using MitTts.Gateway.Channels;
using MitTts.Gateway.Hosting;
using MitTts.Gateway.Security;
using MitTts.Gateway.Telemetry;

namespace MitTts.Gateway.WebSockets;

/// <summary>The seed's <c>websocket</c> settings that shape the protocol.</summary>
public sealed class WebSocketProtocolOptions
{
    public const string Section = "websocket";

    /// <summary>Largest client message; a bigger one closes the socket with 1009.</summary>
    [ConfigurationKeyName("max_message_bytes")]
    public int MaxMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>Sustained client messages per second (bursts of twice as many pass); more closes the socket with 1008.</summary>
    [ConfigurationKeyName("max_messages_per_second")]
    public double MaxMessagesPerSecond { get; set; } = 500;

    /// <summary>With auth on, how long a socket that showed no token at the upgrade has to send <c>connect</c> with one (else 4401).</summary>
    [ConfigurationKeyName("auth_timeout_seconds")]
    public double AuthTimeoutSeconds { get; set; } = 10;

    /// <summary>Keep-alive ping interval in seconds; 0 turns pings off (the seed's setting).</summary>
    [ConfigurationKeyName("ping_interval_seconds")]
    public double PingIntervalSeconds { get; set; } = 30;
}

/// <summary><c>/ws</c>: the streaming protocol (docs/websocket.md), on the WebSocket port and on the HTTP port alike.</summary>
public static class WebSocketApi
{
    public static WebApplication MapWebSocketApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<IOptions<WebSocketProtocolOptions>>().Value;
        app.UseWebSockets(new WebSocketOptions
        {
            KeepAliveInterval = options.PingIntervalSeconds > 0 ? TimeSpan.FromSeconds(options.PingIntervalSeconds) : Timeout.InfiniteTimeSpan,
        });
        // Open at the HTTP level: a socket may authenticate with its first message (connect with auth_token); WebSocketConnection checks.
        app.Map("/ws", Serve).AllowAnonymous().WithName("WebSocket").ExcludeFromDescription();
        return app;
    }

    /// <summary>With <c>security.cors_origins</c> set (and not <c>*</c>), a socket from a browser page is taken only from a listed origin
    /// or from this server's own host (the playground, on either port); clients that send no <c>Origin</c> (not browsers) always.</summary>
    private static bool OriginAllowed(HttpContext http)
    {
        var origin = http.Request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return true;
        }

        var origins = http.RequestServices.GetRequiredService<IConfiguration>().GetSection("security:cors_origins").Get<string[]>() ?? [];
        if (origins.Length == 0 || origins.Contains("*"))
        {
            return true;
        }

        return origins.Any(allowed => string.Equals(allowed.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase))
            || (Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Host, http.Request.Host.Host, StringComparison.OrdinalIgnoreCase));
    }

    private static async Task Serve(
        HttpContext http,
        IGrainFactory grains,
        SynthesisRequestValidator validator,
        IOptions<WebSocketProtocolOptions> options,
        ILoggerFactory loggers,
        GatewayMetrics metrics,
        GatewayMode mode,
        IHostApplicationLifetime lifetime)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            // RFC 9110: a 426 names the protocol to upgrade to.
            http.Response.Headers.Upgrade = "websocket";
            await new ApiError(StatusCodes.Status426UpgradeRequired, "websocket_required", $"/ws speaks WebSocket: connect with {(http.Request.IsHttps ? "wss" : "ws")}://{http.Request.Host}/ws.")
                .ToResult().ExecuteAsync(http);
            return;
        }

        if (!OriginAllowed(http))
        {
            // A browser page from elsewhere (cross-site WebSocket hijacking): refused like its REST calls are, before any upgrade.
            await new ApiError(StatusCodes.Status403Forbidden, "origin_not_allowed", "This origin is not in security.cors_origins.").ToResult().ExecuteAsync(http);
            return;
        }

        // A token shown at the upgrade (header or ?token=) that does not validate closes the socket at once; none at all leaves the
        // socket to authenticate with its connect message. (The authentication middleware keeps only successes; a failure is asked
        // again here, from the handler's cached result.)
        var auth = http.RequestServices.GetRequiredService<AuthOptions>();
        if (auth.Enabled && (await http.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme)).Failure is not null)
        {
            using var refused = await http.WebSockets.AcceptWebSocketAsync();
            await refused.CloseAsync((WebSocketCloseStatus)SocketGuard.Unauthenticated, "the access token is not valid", lifetime.ApplicationStopping);
            return;
        }

        var caller = Caller.From(http) is { UserId: not null } known ? known : null;
        var services = http.RequestServices;
        using var guard = new SocketGuard(services.GetRequiredService<TokenService>(), services.GetRequiredService<RateLimits>(),
            services.GetRequiredService<SocketLeases>(), auth.Enabled, caller, http.Connection.RemoteIpAddress);

        // Counted before the upgrade is answered: once a client's upgrade succeeds its socket counts, silent or not (a refused one hears
        // too_many_sockets from the connection).
        await guard.CountSocket();
        using var socket = await http.WebSockets.AcceptWebSocketAsync();
        await using var connection = new WebSocketConnection(socket, grains, validator, options.Value, guard, services.GetRequiredService<ChannelReaderHome>(),
            loggers.CreateLogger<WebSocketConnection>(), metrics, clustered: mode.RedisUrl is not null);
        metrics.WebSocketOpened();
        try
        {
            await connection.RunAsync(lifetime.ApplicationStopping);
            await AwaitClientClose(socket);
        }
        finally
        {
            metrics.WebSocketClosed();
        }
    }

    /// <summary>After the server's close frame (a flood, a refused socket), reads and drops what the client still sends until its own
    /// close frame, for at most 2 s. Ending the request at once would close the TCP connection with the client's unread messages in
    /// the server's buffer, which the kernel answers with a reset, and a reset can discard the close frame, and its code, before the
    /// client reads it.</summary>
    private static async Task AwaitClientClose(WebSocket socket)
    {
        if (socket.State != WebSocketState.CloseSent)
        {
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            while ((await socket.ReceiveAsync(buffer, deadline.Token)).MessageType != WebSocketMessageType.Close)
            {
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // The client did not answer the close in time, or went away: nothing more to wait for.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
