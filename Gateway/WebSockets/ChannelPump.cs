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

    // While the client waits for audio and none comes for this long, the pump asks the channel whether it is still there: a call in
    // flight to a silo that was killed waits out Orleans' 30 s response timeout, the stream with it.
    private static readonly TimeSpan s_silenceCheck = TimeSpan.FromSeconds(2);

    private readonly IAudioChannelGrain _channel;
    private readonly WebSocketOutbox _outbox;
    private readonly string _sessionId;
    private readonly ILogger _logger;
    private readonly Func<bool> _expectingAudio;
    private long _lastEventAt;

    public ChannelPump(IAudioChannelGrain channel, WebSocketOutbox outbox, string sessionId, ILogger logger, Func<bool> expectingAudio)
    {
        _channel = channel;
        _outbox = outbox;
        _sessionId = sessionId;
        _logger = logger;
        _expectingAudio = expectingAudio;
    }

    /// <summary>Forwards every channel event after <paramref name="after"/>; ends with a 4001 close, a <c>stream_interrupted</c> error,
    /// or when <paramref name="cancellationToken"/> stops it.</summary>
    public async Task Run(long after, CancellationToken cancellationToken)
    {
        var failures = 0;
        var resuming = true;
        while (true)
        {
            using var listening = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var watch = WatchForSilence(listening);

            // Not `await foreach`: disposing an enumeration whose silo died would wait out the response timeout too.
            var events = _channel.Listen(after, listening.Token).GetAsyncEnumerator(listening.Token);
            try
            {
                Volatile.Write(ref _lastEventAt, Environment.TickCount64);
                while (await events.MoveNextAsync())
                {
                    var channelEvent = events.Current;
                    failures = 0;
                    Volatile.Write(ref _lastEventAt, Environment.TickCount64);
                    if (channelEvent.Sequence > after + 1)
                    {
                        _outbox.Send(Gap(after, channelEvent.Sequence, resuming));
                    }

                    resuming = false;
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
            finally
            {
                await listening.CancelAsync();
                await watch;
                _ = DisposeQuietly(events);
            }
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

    private static async Task DisposeQuietly(IAsyncEnumerator<ChannelEvent> events)
    {
        try
        {
            await events.DisposeAsync();
        }
        catch (Exception e) when (e is OrleansException or TimeoutException or OperationCanceledException or InvalidOperationException)
        {
            // The channel's silo is gone, or the enumeration already ended.
        }
    }

    /// <summary>While audio is expected and the channel is silent, checks that the channel answers; when it does not (its silo died),
    /// ends the listening, which the pump starts again on the channel's new home.</summary>
    private async Task WatchForSilence(CancellationTokenSource listening)
    {
        try
        {
            while (!listening.IsCancellationRequested)
            {
                await Task.Delay(s_silenceCheck, listening.Token);
                var silent = Environment.TickCount64 - Volatile.Read(ref _lastEventAt) >= (long)s_silenceCheck.TotalMilliseconds;
                if (silent && _expectingAudio())
                {
                    await _channel.GetLastSequence();
                }
            }
        }
        catch (OperationCanceledException) when (listening.IsCancellationRequested)
        {
            // The listening ended.
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            LogChannelSilent(_sessionId, e.Message);
            await listening.CancelAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "WebSocket of session {SessionId}: the channel did not answer a check ({Reason}); listening again")]
    private partial void LogChannelSilent(string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "WebSocket of session {SessionId}: listening to the channel again (attempt {Attempt})")]
    private partial void LogPumpRetry(string sessionId, int attempt, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "WebSocket of session {SessionId}: the channel stream failed")]
    private partial void LogPumpFailed(string sessionId, Exception exception);
}
