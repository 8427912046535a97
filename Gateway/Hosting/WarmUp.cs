using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using MitTts.Gateway.Apis;
using MitTts.Gateway.Channels;
using MitTts.Gateway.Security;
using MitTts.Gateway.WebSockets;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Hosting;

/// <summary>Before the gateway says it is ready (<see cref="Readiness"/>), one WebSocket session of its own speaks a word in each audio
/// format through the real path: the protocol, validation, the session and its channel, the synthesizer, the engine's default voice,
/// every encoder. A fresh process otherwise makes its first callers wait while the JIT compiles that path and the grains activate
/// (half a second for the first request, bench/results/cold-start.md). With a co-hosted silo (the embedded default) it runs before
/// Kestrel starts listening; a cluster client runs it in the background and is unready until then. <c>server:warm_up=false</c>
/// turns it off.</summary>
/// <remarks>The socket is a loopback TCP pair inside this process, served by <see cref="WebSocketConnection"/> like any other, but it
/// is counted nowhere: not in the gateway's metrics or connections, not in any caller's rate limits, and its tasks are
/// <see cref="SynthesisRequest.Uncounted"/>, so the silo's metrics and device counts leave them out too. Best effort:
/// a warm-up that fails (with a co-hosted silo at once; a cluster client asks again while the cluster is not there, up to
/// <see cref="Limit"/>) is logged and the gateway is ready all the same.</remarks>
public sealed partial class WarmUp(
    IServiceProvider services,
    IConfiguration configuration,
    IHostApplicationLifetime lifetime,
    ILogger<WarmUp> logger) : BackgroundService
{
    /// <summary>The longest the warm-up may take, retries included.</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    // Every encoder; the voice is the configured default.
    private static readonly string[] s_formats = ["pcm", "wav", "ogg", "mp3", "flac", "aac", "mulaw"];

    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Done (or skipped, or given up); never faults.</summary>
    public Task Completion => _done.Task;

    /// <summary>The formats the warm-up speaks, in order.</summary>
    public static IReadOnlyList<string> Formats => s_formats;

    /// <summary>The formats whose task the last attempt saw completed.</summary>
    public IReadOnlyList<string> Spoken => _spoken;

    private volatile string[] _spoken = [];

    private int _attempts;

    /// <summary>How many times the warm-up tried to speak.</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    /// <summary>With a co-hosted silo, warms up here, before the host goes on to start Kestrel: the port opens (and <c>/health</c>
    /// answers) only once the server is warm, so a client that waits for the port or for health never meets a cold server.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!configuration.GetValue("server:warm_up", true))
        {
            _done.TrySetResult();
        }
        else if (!services.GetRequiredService<GatewayMode>().IsClient)
        {
            await Run(retry: false, cancellationToken);
        }

        await base.StartAsync(cancellationToken);
    }

    /// <summary>As a cluster client, warms up in the background once the host has started (the silos may come later, and liveness
    /// must answer meanwhile); <c>/ready</c> says unready until then.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_done.Task.IsCompleted)
        {
            return;
        }

        try
        {
            // After every hosted service (the cluster client) and Kestrel have started.
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            {
                await started.Task.WaitAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
            _done.TrySetResult();
            return;
        }

        await Run(retry: true, stoppingToken);
    }

    /// <summary>Speaks every format, for at most <see cref="Limit"/>; never throws. With <paramref name="retry"/> (a cluster client, whose
    /// silos may come later), a failed attempt is made again until then; without (the silo is in this process, and the port waits), a
    /// failure is final: what this server answers now (a default voice no engine speaks, a setting that refuses the audio) it answers
    /// again, and waiting it out would only keep the port closed.</summary>
    private async Task Run(bool retry, CancellationToken stoppingToken)
    {
        try
        {
            var clock = Stopwatch.GetTimestamp();
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            limit.CancelAfter(Limit);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    Interlocked.Increment(ref _attempts);
                    await Speak(limit.Token);
                    var elapsed = Stopwatch.GetElapsedTime(clock);
                    LogWarmedUp(elapsed.TotalMilliseconds);
                    return;
                }
                catch (Exception e) when (e is not OperationCanceledException && !limit.IsCancellationRequested)
                {
                    if (!retry)
                    {
                        LogFailed(e);
                        return;
                    }

                    // The cluster may not be there yet (a gateway started before its silos): asked again until the limit.
                    LogRetry(attempt, e);
                    await Task.Delay(TimeSpan.FromSeconds(1), limit.Token);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The server is stopping: nothing to warm for.
        }
        catch (Exception e)
        {
            LogGaveUp(Limit.TotalSeconds, e);
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    private async Task Speak(CancellationToken cancellationToken)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var clientEnd = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accepting = listener.AcceptAsync(cancellationToken);
        await clientEnd.ConnectAsync(listener.LocalEndPoint!, cancellationToken);
        using var serverEnd = await accepting;

        var noPings = Timeout.InfiniteTimeSpan;
        using var serverSocket = WebSocket.CreateFromStream(new NetworkStream(serverEnd), new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = noPings });
        using var client = WebSocket.CreateFromStream(new NetworkStream(clientEnd), new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = noPings });

        // Unlimited and uncounted: no user, no address (with auth on or off alike).
        using var guard = new SocketGuard(services.GetRequiredService<TokenService>(), services.GetRequiredService<RateLimits>(),
            services.GetRequiredService<SocketLeases>(), authEnabled: false, caller: null, address: null);
        var grains = services.GetRequiredService<IGrainFactory>();
        await using var connection = new WebSocketConnection(serverSocket, grains, services.GetRequiredService<SynthesisRequestValidator>(),
            services.GetRequiredService<IOptions<WebSocketProtocolOptions>>().Value, guard, services.GetRequiredService<ChannelReaderHome>(),
            services.GetRequiredService<ILoggerFactory>().CreateLogger<WebSocketConnection>(), metrics: null,
            clustered: services.GetRequiredService<GatewayMode>().RedisUrl is not null)
        {
            Uncounted = true,
        };
        var serving = connection.RunAsync(cancellationToken);

        var sessionId = "warmup-" + Guid.NewGuid().ToString("N");
        try
        {
            await Send(client, $$"""{"type":"connect","session_id":"{{sessionId}}"}""", cancellationToken);
            await ReceiveUntil(client, "connected", null, cancellationToken);
            var spoken = new List<string>();
            foreach (var format in s_formats)
            {
                await Send(client, $$"""{"type":"synthesize","text":"Ready.","format":"{{format}}","request_id":"{{format}}"}""", cancellationToken);
                await ReceiveUntil(client, "status", format, cancellationToken);
                spoken.Add(format);
            }

            _spoken = [.. spoken];

            await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "warmed up", cancellationToken);
            await serving;
        }
        finally
        {
            if (!serving.IsCompleted)
            {
                // A failed attempt: the client end goes as a dropped network would, and the connection (its channel reader with it)
                // ends now, not with the host, which would wait for it. Not waited for past a second: a call to a cluster that is not
                // there yet ends only with its timeout, and the next attempt should not wait for that.
                clientEnd.Close();
                await serving.WaitAsync(TimeSpan.FromSeconds(1), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            // Its channel leaves now rather than after a resume window (unless the server is stopping: then everything goes).
            if (!cancellationToken.IsCancellationRequested)
            {
                await grains.GetGrain<IAudioChannelGrain>(sessionId).Close().WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None)
                    .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private static Task Send(WebSocket socket, string json, CancellationToken cancellationToken) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    /// <summary>Reads until a message of <paramref name="type"/> (for a status: the end of the task of <paramref name="requestId"/>);
    /// an error, or a task that did not complete, is thrown.</summary>
    private static async Task ReceiveUntil(WebSocket socket, string type, string? requestId, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            buffer.ResetWrittenCount();
            ValueWebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer.GetMemory(4096), cancellationToken);
                buffer.Advance(result.Count);
            }
            while (!result.EndOfMessage);

            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new WebSocketException($"the warm-up socket was closed ({socket.CloseStatus}: {socket.CloseStatusDescription})");
            }

            if (result.MessageType != WebSocketMessageType.Text)
            {
                continue;
            }

            using var message = JsonDocument.Parse(buffer.WrittenMemory);
            var root = message.RootElement;
            var messageType = root.GetProperty("type").GetString();
            if (messageType == "error")
            {
                throw new InvalidOperationException($"warm-up refused: {root.GetRawText()}");
            }

            if (messageType != type)
            {
                continue;
            }

            if (requestId is null)
            {
                return;
            }

            if (root.TryGetProperty("request_id", out var id) && id.GetString() == requestId
                && root.GetProperty("status").GetString() is var status and not ("queued" or "processing"))
            {
                if (status != "completed")
                {
                    throw new InvalidOperationException($"warm-up task ended {status}: {root.GetRawText()}");
                }

                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Warmed up in {Milliseconds:0} ms: every audio format spoken once through the WebSocket path")]
    private partial void LogWarmedUp(double milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Warm-up attempt {Attempt} failed; trying again")]
    private partial void LogRetry(int attempt, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warm-up failed; the server starts without it")]
    private partial void LogFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warm-up gave up after {Seconds} s; the gateway is ready without it")]
    private partial void LogGaveUp(double seconds, Exception exception);
}
