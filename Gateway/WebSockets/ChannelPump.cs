using System.Net.WebSockets;
using MitTts.Gateway.Channels;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.WebSockets;

/// <summary>Pulls one session's audio channel into a socket's outbox, from a sequence on, until the socket closes or another takes over.</summary>
/// <remarks>The outbox has room for a bounded number of events, so a slow client slows this reader rather than filling the gateway's memory.</remarks>
public sealed partial class ChannelPump
{
    /// <summary>Close code (application range) sent when the session was resumed on another socket.</summary>
    public const WebSocketCloseStatus SessionTakenOver = (WebSocketCloseStatus)4001;

    private readonly IAudioChannelGrain _channel;
    private readonly WebSocketOutbox _outbox;
    private readonly string _sessionId;
    private readonly ChannelReaderHome _home;
    private readonly ILogger _logger;
    private readonly Func<bool> _expectingAudio;

    public ChannelPump(IAudioChannelGrain channel, WebSocketOutbox outbox, string sessionId, ChannelReaderHome home, ILogger logger, Func<bool> expectingAudio)
    {
        _channel = channel;
        _outbox = outbox;
        _sessionId = sessionId;
        _home = home;
        _logger = logger;
        _expectingAudio = expectingAudio;
    }

    /// <summary>Forwards every channel event after <paramref name="after"/>; ends with a 4001 close, a <c>stream_interrupted</c> error,
    /// or when <paramref name="cancellationToken"/> stops it. <paramref name="resuming"/>: the client asked to resume from
    /// <paramref name="after"/>, so events gone before the first one forwarded are a <c>resume_expired</c>; else (and after the first)
    /// the channel dropped them unread: <c>events_dropped</c>.</summary>
    /// <remarks>A silo's death is mended by the reader, which listens again after the last event forwarded; it checks a silent channel
    /// only while the client waits for audio (an idle session is silent by right).</remarks>
    public async Task Run(long after, bool resuming, CancellationToken cancellationToken)
    {
        await using var events = new ResumingChannelReader(_channel, after, "WebSocket of session " + _sessionId, _logger, _home, new ChannelReading
        {
            ExpectingEvents = _expectingAudio,
            OnGap = (last, next) => _outbox.Send(Gap(last, next, resuming)),
            EndIsTakeover = true,
        });
        try
        {
            while (await events.Next(cancellationToken) is { } channelEvent)
            {
                resuming = false;
                if (!await _outbox.SendEvent(channelEvent, cancellationToken))
                {
                    return;
                }
            }

            // The channel ended this reader: the session was resumed on another socket.
            _outbox.Close(SessionTakenOver, "session resumed on another connection");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The socket closed.
        }
        catch (ChannelStreamBrokenException e)
        {
            LogPumpFailed(_sessionId, e);
            _outbox.Send(new ErrorMessage("stream_interrupted", "The audio stream from the cluster broke; reconnect with your session_id and last_sequence to resume.", null));
        }
    }

    /// <summary>The error telling a client that events between <paramref name="after"/> and <paramref name="next"/> are no longer kept
    /// (the resume window passed, or the session's buffer was dropped to keep the silo within its memory): never a silent gap.</summary>
    public static ErrorMessage Gap(long after, long next, bool resuming)
    {
        var missed = after + 1 == next - 1 ? $"Event {after + 1} is" : $"Events {after + 1} to {next - 1} are";
        return resuming
            ? new ErrorMessage("resume_expired", $"{missed} no longer kept (resume window or buffer passed); the stream goes on from {next}.", null)
            : new ErrorMessage("events_dropped", $"{missed} no longer kept (the session's unread audio passed its limit); the stream goes on from {next}.", null);
    }

    /// <summary>The error telling a resuming client that the channel's stream ends at <paramref name="present"/>, before its resume
    /// point <paramref name="last"/>: the events it heard are gone with the session (its resume window passed, or its silo's memory
    /// went), and the stream's numbers start again after <paramref name="present"/>.</summary>
    public static ErrorMessage Unknown(long last, long present) =>
        new("resume_expired", $"This session's stream ends at {present}, before event {last}: it expired (no socket within the resume window) "
            + $"or its history is gone; the stream starts again from {present + 1}.", null);

    [LoggerMessage(Level = LogLevel.Warning, Message = "WebSocket of session {SessionId}: the channel stream failed")]
    private partial void LogPumpFailed(string sessionId, Exception exception);
}
