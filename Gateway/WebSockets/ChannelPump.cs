using System.Net.WebSockets;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.WebSockets;

/// <summary>Pulls one session's audio channel into a socket's outbox, from a sequence on, until the socket closes or another takes over.</summary>
/// <remarks>The outbox has room for a bounded number of events, so a slow client slows this reader rather than filling the gateway's memory.</remarks>
public sealed partial class ChannelPump
{
    /// <summary>Close code (application range) sent when the session was resumed on another socket.</summary>
    public const WebSocketCloseStatus SessionTakenOver = (WebSocketCloseStatus)4001;

    // Listening again over about 15 s covers a silo's death being noticed and its channel coming back elsewhere.
    private const int MaxListenRetries = 10;

    private readonly IAudioChannelGrain _channel;
    private readonly WebSocketOutbox _outbox;
    private readonly string _sessionId;
    private readonly ILogger _logger;

    public ChannelPump(IAudioChannelGrain channel, WebSocketOutbox outbox, string sessionId, ILogger logger)
    {
        _channel = channel;
        _outbox = outbox;
        _sessionId = sessionId;
        _logger = logger;
    }

    /// <summary>Forwards every channel event after <paramref name="after"/>; ends with a 4001 close, a <c>stream_interrupted</c> error,
    /// or when <paramref name="cancellationToken"/> stops it.</summary>
    public async Task Run(long after, CancellationToken cancellationToken)
    {
        var failures = 0;
        while (true)
        {
            try
            {
                await foreach (var channelEvent in _channel.Listen(after, cancellationToken).WithCancellation(cancellationToken))
                {
                    failures = 0;
                    after = channelEvent.Sequence;
                    if (!await _outbox.SendEvent(channelEvent, cancellationToken))
                    {
                        return;
                    }
                }

                // The channel ended this reader: the session was resumed on another socket.
                _outbox.Close(SessionTakenOver, "session resumed on another connection");
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (++failures <= MaxListenRetries)
            {
                // The channel's silo died: its saved state comes back on another silo; listen again after the last event forwarded.
                LogPumpRetry(_sessionId, failures, e);
                await Task.Delay(TimeSpan.FromMilliseconds(250 * failures), cancellationToken);
            }
            catch (Exception e)
            {
                LogPumpFailed(_sessionId, e);
                _outbox.Send(new ErrorMessage("stream_interrupted", "The audio stream from the cluster broke; reconnect with your session_id and last_sequence to resume.", null));
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "WebSocket of session {SessionId}: listening to the channel again (attempt {Attempt})")]
    private partial void LogPumpRetry(string sessionId, int attempt, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "WebSocket of session {SessionId}: the channel stream failed")]
    private partial void LogPumpFailed(string sessionId, Exception exception);
}
