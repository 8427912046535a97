using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using MitTts.Gateway.Apis;
using MitTts.Gateway.Channels;
using MitTts.Gateway.Contracts;
using MitTts.Gateway.Security;
using MitTts.Gateway.Telemetry;
using MitTts.Grains.Interfaces;
using Serilog.Context;

namespace MitTts.Gateway.WebSockets;

/// <summary>One client socket: a view on one session's audio channel, plus the control messages that feed it.</summary>
/// <remarks>Three loops: receive (<see cref="WebSocketInbox"/>; each message parsed by <see cref="ClientMessageParser"/> and handled
/// here, one at a time, in order), pump (<see cref="ChannelPump"/>: the channel's events from the grain), and send
/// (<see cref="WebSocketOutbox"/>, the only writer to the socket, which holds back interrupted tasks by the <see cref="InterruptFilter"/>).
/// What stays here is the session: connect, synthesize, interrupt; text contexts are in <c>.Text.cs</c>.</remarks>
public sealed partial class WebSocketConnection : IAsyncDisposable
{
    /// <summary>Close code (1013, Try Again Later) for a socket whose session cannot open: the silo holds its cap of sessions.</summary>
    private const WebSocketCloseStatus TryAgainLater = (WebSocketCloseStatus)1013;
    private const WebSocketCloseStatus ServiceRestart = (WebSocketCloseStatus)1012;

    // How long a socket of a stopping server waits to tell its client its tasks ended, and how often it looks.
    private static readonly TimeSpan s_shutdownDrain = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_shutdownPoll = TimeSpan.FromMilliseconds(20);

    private readonly IGrainFactory _grains;
    private readonly SynthesisRequestValidator _validator;
    private readonly ILogger _logger;
    private readonly GatewayMetrics? _metrics;
    private readonly InterruptFilter _filter = new();
    private readonly WebSocketOutbox _outbox;
    private readonly WebSocketInbox _inbox;
    private readonly SocketGuard _guard;
    private readonly ChannelReaderHome _home;
    private readonly TimeSpan _authTimeout;
    // In a cluster: the session outlives this process (interrupts are confirmed by the channel; a gateway stopping hands its sockets
    // on with a restart close, and the client resumes elsewhere).
    private readonly bool _clustered;

    private string? _sessionId;
    private IAudioChannelGrain? _channel;
    private Task? _pump;
    private readonly TaskAnnouncer _announcer;

    public WebSocketConnection(
        WebSocket socket,
        IGrainFactory grains,
        SynthesisRequestValidator validator,
        WebSocketProtocolOptions options,
        SocketGuard guard,
        ChannelReaderHome home,
        ILogger logger,
        GatewayMetrics? metrics = null,
        bool clustered = false)
    {
        _clustered = clustered;
        _grains = grains;
        _home = home;
        _guard = guard;
        _authTimeout = TimeSpan.FromSeconds(options.AuthTimeoutSeconds);
        _validator = validator;
        _logger = logger;
        _metrics = metrics;
        _outbox = new WebSocketOutbox(socket, _filter, metrics);
        _inbox = new WebSocketInbox(socket, _outbox, options);
        _announcer = new TaskAnnouncer(grains, logger, _outbox.Closing);
    }

    /// <summary>The gateway's own warm-up (<see cref="Hosting.WarmUp"/>): its tasks are marked <see cref="SynthesisRequest.Uncounted"/>.</summary>
    internal bool Uncounted { get; init; }

    /// <summary>Serves the socket until the client closes it, breaks protocol, or the server stops.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        using var sendStop = new CancellationTokenSource();

        // Lives until the end: the pump listens with it, and it must see the outbox close after the socket is gone (a source
        // disposed before the finally would never cancel, and every socket's pump and connection would stay for good).
        using var receiving = CancellationTokenSource.CreateLinkedTokenSource(_outbox.Closing);
        var sending = _outbox.Run(sendStop.Token);

        // The server stopping closes the socket with a close frame, after what the client must hear (CloseForShutdown).
        Task closingForShutdown = Task.CompletedTask;
        using var onStopping = stopping.Register(() => closingForShutdown = CloseForShutdown());

        // With auth on, a socket that showed no token at the upgrade has a few seconds to show one (connect's auth_token).
        using var authDeadline = _guard.Caller is null ? new CancellationTokenSource(_authTimeout) : null;
        using var closeUnauthenticated = authDeadline?.Token.Register(() =>
        {
            if (_guard.Caller is null)
            {
                CloseUnauthenticated(string.Create(CultureInfo.InvariantCulture, $"authenticate within {_authTimeout.TotalSeconds:0.#} s: connect with auth_token"));
            }
        });
        try
        {
            if (!await _guard.CountSocket())
            {
                TooManySockets(null);
                return;
            }

            await foreach (var message in _inbox.ReadMessages(receiving.Token))
            {
                // The session's id on every line logged while its messages are handled.
                using (_sessionId is null ? null : LogContext.PushProperty("SessionId", _sessionId))
                {
                    await Handle(message, receiving.Token);
                }
            }
        }
        catch (OperationCanceledException) when (_outbox.Closing.IsCancellationRequested)
        {
        }
        catch (WebSocketException e) when (e.WebSocketErrorCode == WebSocketError.ConnectionClosedPrematurely)
        {
            // Routine for a voice agent (a phone that lost its network): one line, no stack trace.
            LogSocketDropped(_sessionId);
        }
        catch (WebSocketException e)
        {
            LogSocketFailed(_sessionId, e);
        }
        finally
        {
            // Stop reading the channel at once (the channel's resume window starts), let queued messages and the close go out, then stop.
            await _outbox.Complete();
            _announcer.Close();
            sendStop.CancelAfter(TimeSpan.FromSeconds(2));
            await Task.WhenAll(sending, _pump ?? Task.CompletedTask, closingForShutdown).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>The server is stopping. In one process the session ends with it: the socket first hears every task it was told of end
    /// (the synthesizers end them, <c>cancelled</c> with code <c>server_stopping</c>), for at most <see cref="s_shutdownDrain"/>, then
    /// closes with 1001 (going away). In a cluster the session lives on: the socket closes at once with 1012 (service restart), and the
    /// client resumes on another gateway.</summary>
    private async Task CloseForShutdown()
    {
        if (_clustered)
        {
            _outbox.Close(ServiceRestart, "server restarting: resume on another connection");
            return;
        }

        var started = Stopwatch.GetTimestamp();
        while (_filter.HasOpenTasks && !_outbox.Closing.IsCancellationRequested && Stopwatch.GetElapsedTime(started) < s_shutdownDrain)
        {
            // Shutdown only, once per socket: a short poll, not a signal on every task's end.
            await Task.Delay(s_shutdownPoll, CancellationToken.None);
        }

        _outbox.Close(WebSocketCloseStatus.EndpointUnavailable, "server stopping");
    }

    public ValueTask DisposeAsync()
    {
        _outbox.Dispose();
        _inbox.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task Handle(ReadOnlyMemory<byte> utf8, CancellationToken cancellationToken)
    {
        var arrived = Stopwatch.GetTimestamp();
        // With auth on, a socket that did not show a token at the upgrade shows one in its first message, connect's auth_token:
        // anything else, a message that does not parse included, closes it.
        if (!ClientMessageParser.TryParse(utf8.Span, out var received, out var error))
        {
            if (_guard.Caller is null)
            {
                CloseUnauthenticated("authenticate first: connect with auth_token");
                return;
            }

            _outbox.Send(error);
            return;
        }

        if (_guard.Caller is null && received.Message is not ConnectMessage)
        {
            CloseUnauthenticated("authenticate first: connect with auth_token");
            return;
        }

        // Interrupts and pings always go through: barge-in must never wait on a budget.
        if (received.Message is not (InterruptMessage or PingMessage) && await _guard.Admit(cancellationToken) is { RetryAfter: { } retryAfter } refused)
        {
            _outbox.Send(new ErrorMessage("rate_limited", $"Message rate limit reached; retry in {retryAfter} s.", received.RequestId, RetryAfter: retryAfter));
            if (refused.Close)
            {
                _outbox.Close(WebSocketCloseStatus.PolicyViolation, "rate limit exceeded");
            }

            return;
        }

        try
        {
            switch (received.Message)
            {
                case ConnectMessage connect:
                    await Connect(connect, cancellationToken);
                    break;
                case SynthesizeMessage synthesize:
                    await Synthesize(synthesize, arrived);
                    break;
                case TextMessage text:
                    await AppendText(text);
                    break;
                case FlushMessage flush:
                    await FlushText(flush.ContextId, received.RequestId, close: false);
                    break;
                case EndMessage end:
                    await FlushText(end.ContextId, received.RequestId, close: true);
                    break;
                case InterruptMessage interrupt:
                    await Interrupt(interrupt, arrived);
                    break;
                case PingMessage:
                    _outbox.SendPong();
                    break;
            }
        }
        catch (Exception e) when (Hosting.ClusterHealth.IsClusterFailure(e))
        {
            LogClusterFailed(_sessionId, e);
            _outbox.Send(new ErrorMessage("cluster_unavailable", "The synthesis cluster did not answer; retry shortly.", received.RequestId));
        }
        catch (SessionForbiddenException forbidden)
        {
            var error2 = SynthesisApi.SessionForbidden(forbidden.SessionId);
            _outbox.Send(new ErrorMessage(error2.Code, error2.Message, received.RequestId, error2.Field));
        }
        catch (SessionLimitException)
        {
            _outbox.Send(new ErrorMessage("too_many_sessions", "The server holds as many sessions as it may; retry shortly.", received.RequestId, RetryAfter: 5));
            _outbox.Close(TryAgainLater, "too many sessions");
        }
    }

    private void CloseUnauthenticated(string reason) => _outbox.Close((WebSocketCloseStatus)SocketGuard.Unauthenticated, reason);

    private void TooManySockets(string? requestId)
    {
        _outbox.Send(new ErrorMessage("too_many_sockets", "You hold as many WebSockets open as you may; close one first.", requestId));
        _outbox.Close(TryAgainLater, "too many sockets");
    }

    /// <summary>The silo that would hold the session already holds its cap of sessions.</summary>
    private sealed class SessionLimitException : Exception;

    /// <summary>The session id is another user's.</summary>
    private sealed class SessionForbiddenException(string sessionId) : Exception
    {
        public string SessionId { get; } = sessionId;
    }

    private async Task Connect(ConnectMessage connect, CancellationToken cancellationToken)
    {
        if (!await _guard.Authenticate(connect.AuthToken))
        {
            CloseUnauthenticated(connect.AuthToken is null
                ? "an access token is required: connect with auth_token"
                : "auth_token is not a valid access token");
            return;
        }

        if (!await _guard.CountSocket())
        {
            TooManySockets(null);
            return;
        }

        if (connect.SessionId is { } sessionId && !SynthesisRequestValidator.SessionIdPattern().IsMatch(sessionId))
        {
            _outbox.Send(new ErrorMessage("invalid_session_id", "session_id must be 1 to 128 letters, digits or _ . : -", null, "session_id"));
            return;
        }

        if (connect.LastSequence is < 0)
        {
            _outbox.Send(new ErrorMessage("invalid_last_sequence", "last_sequence must be 0 or more.", null, "last_sequence"));
            return;
        }

        if (_sessionId is not null)
        {
            _outbox.Send(new ErrorMessage("already_connected", $"This socket is already on session '{_sessionId}'; open another socket for another session.", null));
            return;
        }

        _outbox.Binary = connect.Binary ?? true;
        _outbox.FrameSequence = connect.FrameSequence ?? false;
        var (resumed, gap) = await Open(connect.SessionId, connect.LastSequence, cancellationToken);
        _outbox.Send(new ConnectedMessage(_sessionId!, resumed, _outbox.LastSentSequence, _outbox.Binary, _outbox.FrameSequence));
        if (gap is not null)
        {
            _outbox.Send(gap);
        }
    }

    /// <summary>Joins the session (a new one when <paramref name="sessionId"/> is null) and starts pumping its channel; a resume from
    /// before the oldest event kept comes back with the <c>resume_expired</c> error to send after <c>connected</c>.</summary>
    private async Task<(bool Resumed, ErrorMessage? Gap)> Open(string? sessionId, long? lastSequence, CancellationToken cancellationToken)
    {
        var id = sessionId ?? "ws_" + Guid.NewGuid().ToString("N");
        var owner = _guard.Caller!.UserId;

        // A first turn sent right behind `connect` waits for this: the session, its channel and the first task's announcement are
        // activated at once (in a cluster each is a directory entry and a storage read). The channel is only read before the owner
        // is known to be this caller; an id made here is nobody else's, so only its recording is waited for (beside the channel's
        // read), so that the owner is there before the client, told the id, can pass it on: another user's connect with that id
        // could otherwise reach the session first and own it (a CI run saw it).
        _announcer.Prepare();
        var channel = _grains.GetGrain<IAudioChannelGrain>(id);
        var opening = _grains.GetGrain<ISessionGrain>(id).Open(owner);
        var reading = channel.GetWindow();
        if (sessionId is null)
        {
            await Recorded(opening, id);
        }
        else
        {
            await CheckOwner(opening, reading, id, owner);
        }

        var window = await reading;
        if (window.Full)
        {
            throw new SessionLimitException();
        }

        _sessionId = id;
        _channel = channel;

        // Without a resume point the socket starts at the channel's present: old audio belongs to the socket that heard it. A resume
        // point past the channel's last event is a stream the channel no longer knows (its session expired, or a made-up number):
        // never a silent restart.
        var after = lastSequence is { } last ? Math.Min(last, window.Last) : window.Last;
        ErrorMessage? gap = lastSequence > window.Last ? ChannelPump.Unknown(lastSequence.Value, window.Last) : null;
        if (after + 1 < window.FirstKept)
        {
            gap = ChannelPump.Gap(after, window.FirstKept, resuming: true);
            after = window.FirstKept - 1;
        }

        _outbox.LastSentSequence = after;
        using (LogContext.PushProperty("SessionId", _sessionId))
        {
            LogSessionOpened(_sessionId, lastSequence is not null);
            _pump = new ChannelPump(_channel, _outbox, _sessionId, _home, _logger, () => _filter.HasOpenTasks).Run(after, resuming: lastSequence is not null, cancellationToken);
        }

        // A point past the present resumes nothing (the socket starts at the present).
        return (lastSequence is { } asked && window.Last > 0 && asked <= window.Last, gap);
    }

    /// <summary>Throws unless the session opened by <paramref name="opening"/> is <paramref name="owner"/>'s (then nothing of
    /// <paramref name="reading"/>, its channel's window, is used).</summary>
    private static async Task CheckOwner(Task<SessionSnapshot> opening, Task<ChannelWindow> reading, string id, string? owner)
    {
        SessionSnapshot session;
        try
        {
            session = await opening;
        }
        catch
        {
            reading.Ignore();
            throw;
        }

        if (!string.Equals(session.OwnerId, owner, StringComparison.Ordinal))
        {
            reading.Ignore();
            throw new SessionForbiddenException(id);
        }
    }

    /// <summary>Waits for a new session to be recorded, off the socket's path; a failure is logged (its channel's calls fail too).</summary>
    private async Task Recorded(Task<SessionSnapshot> opening, string id)
    {
        try
        {
            await opening;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Off the socket's path, so nothing else would see it (storage errors included).
            LogSessionNotRecorded(id, e);
        }
    }

    private async Task EnsureSession(CancellationToken cancellationToken)
    {
        if (_sessionId is null)
        {
            _ = await Open(null, null, cancellationToken);
            _outbox.Send(new ConnectedMessage(_sessionId!, Resumed: false, _outbox.LastSentSequence, _outbox.Binary, _outbox.FrameSequence));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "WebSocket joined session {SessionId} (resuming: {Resuming})")]
    private partial void LogSessionOpened(string sessionId, bool resuming);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId} was not recorded")]
    private partial void LogSessionNotRecorded(string sessionId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "WebSocket of session {SessionId}: the client went away without closing")]
    private partial void LogSocketDropped(string? sessionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "WebSocket of session {SessionId} failed")]
    private partial void LogSocketFailed(string? sessionId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "WebSocket of session {SessionId}: the cluster did not answer")]
    private partial void LogClusterFailed(string? sessionId, Exception exception);
}
