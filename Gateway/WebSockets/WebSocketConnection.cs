using System.Buffers;
using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using MitTts.Gateway.Apis;
using MitTts.Gateway.Contracts;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.WebSockets;

/// <summary>One client socket: a view on one session's audio channel, plus the control messages that feed it.</summary>
/// <remarks>Three loops: receive (client messages, handled one at a time in order), pump (the channel's events from the grain), and
/// send (the only writer to the socket). Interrupted tasks are filtered at the moment of sending, so once the acknowledgement is
/// queued no frame of theirs can follow it, whatever was already in flight.</remarks>
public sealed partial class WebSocketConnection : IAsyncDisposable
{
    /// <summary>Header of a binary audio frame: message type, data length, then the data's 8-byte sequence number.</summary>
    public const int FrameHeaderLength = 16;

    /// <summary>The seed's <c>message_type</c> for audio.</summary>
    public const uint AudioMessageType = 1;

    /// <summary>Close code (application range) sent when the session was resumed on another socket.</summary>
    public const WebSocketCloseStatus SessionTakenOver = (WebSocketCloseStatus)4001;

    private const int MaxQueuedEvents = 256;
    private const int MaxRememberedStops = 4096;

    // Listening again over about 15 s covers a silo's death being noticed and its channel coming back elsewhere.
    private const int MaxListenRetries = 10;

    private readonly WebSocket _socket;
    private readonly IGrainFactory _grains;
    private readonly SynthesisRequestValidator _validator;
    private readonly JsonSerializerOptions _json;
    private readonly WebSocketProtocolOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<Outgoing> _outbox = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _eventSlots = new(MaxQueuedEvents, MaxQueuedEvents);
    private readonly CancellationTokenSource _closing = new();
    private readonly Lock _gate = new();

    // Tasks this socket knows are unfinished (submitted here or seen starting), with their context; guarded by _gate.
    private readonly Dictionary<string, string?> _openTasks = new(StringComparer.Ordinal);
    private readonly HashSet<string> _stopped = new(StringComparer.Ordinal);
    private readonly Queue<string> _stopOrder = new();
    private bool _fenceUnknownTasks;

    private string? _sessionId;
    private IAudioChannelGrain? _channel;
    private bool _binary = true;
    private long _lastSentSequence;
    private Task? _pump;
    private double _floodTokens;
    private long _floodRefilledAt;

    public WebSocketConnection(
        WebSocket socket,
        IGrainFactory grains,
        SynthesisRequestValidator validator,
        JsonSerializerOptions json,
        WebSocketProtocolOptions options,
        ILogger logger)
    {
        _socket = socket;
        _grains = grains;
        _validator = validator;
        _json = json;
        _options = options;
        _logger = logger;
        _floodTokens = options.MaxMessagesPerSecond * 2;
        _floodRefilledAt = Environment.TickCount64;
    }

    /// <summary>Serves the socket until the client closes it, breaks protocol, or the server stops.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        using var sendStop = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var sending = SendLoop(sendStop.Token);
        try
        {
            using var receiving = CancellationTokenSource.CreateLinkedTokenSource(stopping, _closing.Token);
            await ReceiveLoop(receiving.Token);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested || _closing.IsCancellationRequested)
        {
        }
        catch (WebSocketException e)
        {
            LogSocketFailed(_sessionId, e);
        }
        finally
        {
            // Stop reading the channel at once (the channel's resume window starts), let queued messages and the close go out, then stop.
            await _closing.CancelAsync();
            _outbox.Writer.TryComplete();
            sendStop.CancelAfter(TimeSpan.FromSeconds(2));
            await Task.WhenAll(sending, _pump ?? Task.CompletedTask).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public ValueTask DisposeAsync()
    {
        _closing.Dispose();
        _eventSlots.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task ReceiveLoop(CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        while (_socket.State == WebSocketState.Open)
        {
            buffer.ResetWrittenCount();
            ValueWebSocketReceiveResult result;
            do
            {
                var memory = buffer.GetMemory(4096);
                result = await _socket.ReceiveAsync(memory, cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    RequestClose(WebSocketCloseStatus.NormalClosure, "bye");
                    return;
                }

                buffer.Advance(result.Count);
                if (buffer.WrittenCount > _options.MaxMessageBytes)
                {
                    RequestClose(WebSocketCloseStatus.MessageTooBig, $"messages are limited to {_options.MaxMessageBytes} bytes");
                    return;
                }
            }
            while (!result.EndOfMessage);

            if (result.MessageType == WebSocketMessageType.Binary)
            {
                RequestClose(WebSocketCloseStatus.InvalidMessageType, "send JSON text messages; binary frames are server to client only");
                return;
            }

            if (IsFlooding())
            {
                RequestClose(WebSocketCloseStatus.PolicyViolation, $"more than {_options.MaxMessagesPerSecond} messages per second");
                return;
            }

            await Handle(buffer.WrittenMemory, cancellationToken);
        }
    }

    /// <summary>A token bucket: bursts up to two seconds' worth, then the configured rate.</summary>
    private bool IsFlooding()
    {
        var now = Environment.TickCount64;
        var rate = _options.MaxMessagesPerSecond;
        _floodTokens = Math.Min(rate * 2, _floodTokens + ((now - _floodRefilledAt) * rate / 1000.0));
        _floodRefilledAt = now;
        if (_floodTokens < 1)
        {
            return true;
        }

        _floodTokens--;
        return false;
    }

    private async Task Handle(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        string? type;
        string? requestId = null;
        try
        {
            (type, requestId) = PeekTypeAndRequestId(message.Span);
        }
        catch (JsonException)
        {
            Send(new ErrorMessage("invalid_json", "Messages must be JSON objects with a \"type\".", null));
            return;
        }

        try
        {
            switch (type)
            {
                case "connect":
                    await Connect(Parse<ConnectMessage>(message), cancellationToken);
                    break;
                case "synthesize":
                    await Synthesize(Parse<SynthesizeMessage>(message));
                    break;
                case "text":
                    await AppendText(Parse<TextMessage>(message));
                    break;
                case "flush":
                case "end":
                    await FlushText(Parse<ContextMessage>(message), requestId, close: type == "end");
                    break;
                case "interrupt":
                    await Interrupt(Parse<InterruptMessage>(message));
                    break;
                case "ping":
                    Send(new PongMessage(Volatile.Read(ref _lastSentSequence)));
                    break;
                case null:
                    Send(new ErrorMessage("missing_type", "Every message needs a \"type\": connect, synthesize, text, flush, end, interrupt or ping.", requestId, "type"));
                    break;
                default:
                    Send(new ErrorMessage("unknown_message_type", $"Unknown message type '{type}': use connect, synthesize, text, flush, end, interrupt or ping.", requestId, "type"));
                    break;
            }
        }
        catch (JsonException e)
        {
            var field = e.Path is { Length: > 2 } path ? path[2..] : null;
            Send(new ErrorMessage("invalid_json", field is null ? "The message is not valid JSON." : $"Field '{field}' has the wrong type.", requestId, field));
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            LogClusterFailed(_sessionId, e);
            Send(new ErrorMessage("cluster_unavailable", "The synthesis cluster did not answer; retry shortly.", requestId));
        }
    }

    private static (string? Type, string? RequestId) PeekTypeAndRequestId(ReadOnlySpan<byte> message)
    {
        var reader = new Utf8JsonReader(message);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("not an object");
        }

        string? type = null;
        string? requestId = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            var isType = reader.ValueTextEquals("type"u8);
            var isRequestId = reader.ValueTextEquals("request_id"u8);
            reader.Read();
            if (isType && reader.TokenType == JsonTokenType.String)
            {
                type = reader.GetString();
            }
            else if (isRequestId && reader.TokenType == JsonTokenType.String)
            {
                requestId = reader.GetString();
            }
            else
            {
                reader.Skip();
            }
        }

        // Reading to the end also proves the whole message is well-formed JSON.
        return (type, requestId);
    }

    private T Parse<T>(ReadOnlyMemory<byte> message) => JsonSerializer.Deserialize<T>(message.Span, _json) ?? throw new JsonException("null");

    private async Task Connect(ConnectMessage connect, CancellationToken cancellationToken)
    {
        if (connect.SessionId is { } sessionId && !SynthesisRequestValidator.SessionIdPattern().IsMatch(sessionId))
        {
            Send(new ErrorMessage("invalid_session_id", "session_id must be 1 to 128 letters, digits or _ . : -", null, "session_id"));
            return;
        }

        if (connect.LastSequence is < 0)
        {
            Send(new ErrorMessage("invalid_last_sequence", "last_sequence must be 0 or more.", null, "last_sequence"));
            return;
        }

        if (_sessionId is not null)
        {
            Send(new ErrorMessage("already_connected", $"This socket is already on session '{_sessionId}'; open another socket for another session.", null));
            return;
        }

        _binary = connect.Binary ?? true;
        var resumed = await Open(connect.SessionId, connect.LastSequence, cancellationToken);
        Send(new ConnectedMessage(_sessionId!, resumed, Volatile.Read(ref _lastSentSequence), _binary));
    }

    /// <summary>Joins the session (a new one when <paramref name="sessionId"/> is null) and starts pumping its channel.</summary>
    private async Task<bool> Open(string? sessionId, long? lastSequence, CancellationToken cancellationToken)
    {
        _sessionId = sessionId ?? "ws_" + Guid.NewGuid().ToString("N");
        _channel = _grains.GetGrain<IAudioChannelGrain>(_sessionId);
        await _grains.GetGrain<ISessionGrain>(_sessionId).Open(ownerId: null);
        var channelEnd = await _channel.GetLastSequence();

        // Without a resume point the socket starts at the channel's present: old audio belongs to the socket that heard it.
        var after = lastSequence is { } last ? Math.Min(last, channelEnd) : channelEnd;
        Volatile.Write(ref _lastSentSequence, after);
        _pump = Pump(_channel, after, cancellationToken);
        return lastSequence is not null && channelEnd > 0;
    }

    private async Task EnsureSession(CancellationToken cancellationToken)
    {
        if (_sessionId is null)
        {
            await Open(null, null, cancellationToken);
            Send(new ConnectedMessage(_sessionId!, Resumed: false, Volatile.Read(ref _lastSentSequence), _binary));
        }
    }

    private async Task Synthesize(SynthesizeMessage message)
    {
        var (request, error) = await _validator.Validate(
            Body(message.Text, message.VoiceId, message.Format, message.Priority, message.SampleRate, message.Bitrate, message.Speed, message.Pitch));
        if (error is not null)
        {
            Send(new ErrorMessage(error.Code, error.Message, message.RequestId, error.Field));
            return;
        }

        await EnsureSession(_closing.Token);
        var taskId = "task_" + Guid.NewGuid().ToString("N");
        lock (_gate)
        {
            _openTasks[taskId] = null;
        }

        // Queued goes out before the task can start: the synthesizer is fast enough to beat the Submit reply to the socket.
        Send(new StatusMessage(taskId, "queued", 0, null, message.RequestId, null, null));
        var submitted = await _channel!.Submit(new ChannelTaskInfo(taskId, message.RequestId, null, Whole: message.Stream == false), request! with { WordTimestamps = message.Timestamps ?? false });
        ReportRefused(submitted, message.RequestId, null);
    }

    /// <summary>A socket's request in the REST body's shape, so both are validated alike; on a socket priority defaults to high.</summary>
    private static SynthesizeBody Body(string? text, string? voiceId, string? format, string? priority, int? sampleRate, int? bitrate, double? speed, double? pitch) => new()
    {
        Text = text,
        VoiceId = voiceId,
        Format = format,
        Priority = priority ?? "high",
        SampleRate = sampleRate,
        Bitrate = bitrate,
        Speed = speed,
        Pitch = pitch,
    };

    private async Task AppendText(TextMessage message)
    {
        if (string.IsNullOrEmpty(message.ContextId))
        {
            Send(new ErrorMessage("context_id_required", "A text message needs a context_id.", message.RequestId, "context_id"));
            return;
        }

        if (message.Text is null)
        {
            Send(new ErrorMessage("text_required", "A text message needs text (a fragment is fine).", message.RequestId, "text"));
            return;
        }

        if (message.Text.Length > _validator.MaxTextLength)
        {
            Send(new ErrorMessage("text_too_long", $"One text message carries at most {_validator.MaxTextLength} characters.", message.RequestId, "text"));
            return;
        }

        // The context's voice and format are validated like a synthesize request (with placeholder text).
        var (template, error) = await _validator.Validate(
            Body("-", message.VoiceId, message.Format, message.Priority, message.SampleRate, message.Bitrate, message.Speed, message.Pitch));
        if (error is not null)
        {
            Send(new ErrorMessage(error.Code, error.Message, message.RequestId, error.Field));
            return;
        }

        await EnsureSession(_closing.Token);
        var options = new TextContextOptions(template! with { WordTimestamps = message.Timestamps ?? false }, message.RequestId);
        var result = await _channel!.AppendText(message.ContextId, message.Text, options);
        ReportTextResult(result, message.RequestId, message.ContextId);
    }

    private async Task FlushText(ContextMessage message, string? requestId, bool close)
    {
        if (string.IsNullOrEmpty(message.ContextId))
        {
            Send(new ErrorMessage("context_id_required", "flush and end need a context_id.", requestId, "context_id"));
            return;
        }

        if (_channel is null)
        {
            Send(new ErrorMessage("context_not_found", $"No open text context '{message.ContextId}'.", requestId, "context_id"));
            return;
        }

        var result = await _channel.FlushText(message.ContextId, close);
        ReportTextResult(result, requestId, message.ContextId);
    }

    /// <summary>Text contexts name their tasks in the channel, so a client meets them in their <c>processing</c> status; only refusals are reported here.</summary>
    private void ReportTextResult(TextAppendResult result, string? requestId, string contextId)
    {
        foreach (var task in result.Tasks)
        {
            ReportRefused(task, requestId, contextId);
        }

        if (result.Error is { IsBusy: false } error)
        {
            Send(new ErrorMessage(error.Code, error.Message, requestId, "context_id"));
        }
    }

    /// <summary>A task the scheduler refused (every queue of its level full) ends at once with a <c>busy</c> error status.</summary>
    private void ReportRefused(SubmitResult submitted, string? requestId, string? contextId)
    {
        if (submitted is TaskRefused { Error: { } refusal })
        {
            lock (_gate)
            {
                _openTasks.Remove(submitted.TaskId);
            }

            // A busy refusal says when to retry; any other (no device answered) is reported under its own code.
            Send(new StatusMessage(submitted.TaskId, "error", 0, new ErrorBody(refusal.Code, refusal.Message), requestId, contextId, null)
            {
                RetryAfter = refusal.IsBusy ? Math.Ceiling(refusal.RetryAfterSeconds ?? 1) : null,
            });
        }
    }

    private async Task Interrupt(InterruptMessage message)
    {
        if (_channel is null)
        {
            Send(new InterruptedMessage([], message.Reason, message.ContextId, 0));
            return;
        }

        var stopped = new List<string>();
        var everything = message.TaskId is null && message.ContextId is null;
        lock (_gate)
        {
            if (message.TaskId is { } single)
            {
                stopped.Add(single);
            }
            else
            {
                foreach (var (open, contextId) in _openTasks)
                {
                    if (everything || string.Equals(contextId, message.ContextId, StringComparison.Ordinal))
                    {
                        stopped.Add(open);
                    }
                }
            }

            foreach (var taskId in stopped)
            {
                Stop(taskId);
            }

            // Until the channel has answered, a task this socket has not heard of may be one the interrupt is about.
            _fenceUnknownTasks = message.TaskId is null;
        }

        Send(new InterruptedMessage(stopped, message.Reason, message.ContextId, Volatile.Read(ref _lastSentSequence)));

        // The audio is already silenced; now stop the synthesis behind it (the channel also catches tasks this socket never saw).
        try
        {
            var alsoStopped = await _channel.Interrupt(message.TaskId is { } one ? [one] : null, message.ContextId);
            lock (_gate)
            {
                foreach (var taskId in alsoStopped)
                {
                    Stop(taskId);
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                _fenceUnknownTasks = false;
            }
        }
    }

    private void Stop(string taskId)
    {
        _openTasks.Remove(taskId);
        if (_stopped.Add(taskId))
        {
            _stopOrder.Enqueue(taskId);
            if (_stopOrder.Count > MaxRememberedStops)
            {
                _stopped.Remove(_stopOrder.Dequeue());
            }
        }
    }

    private async Task Pump(IAudioChannelGrain channel, long after, CancellationToken cancellationToken)
    {
        var failures = 0;
        while (true)
        {
            try
            {
                await foreach (var channelEvent in channel.Listen(after, cancellationToken).WithCancellation(cancellationToken))
                {
                    failures = 0;
                    after = channelEvent.Sequence;
                    await _eventSlots.WaitAsync(cancellationToken);
                    if (!_outbox.Writer.TryWrite(new Outgoing(channelEvent, null)))
                    {
                        return;
                    }
                }

                // The channel ended this reader: the session was resumed on another socket.
                RequestClose(SessionTakenOver, "session resumed on another connection");
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
                Send(new ErrorMessage("stream_interrupted", "The audio stream from the cluster broke; reconnect with your session_id and last_sequence to resume.", null));
                return;
            }
        }
    }

    private void Send<T>(T message)
    {
        _outbox.Writer.TryWrite(new Outgoing(null, JsonSerializer.SerializeToUtf8Bytes(message, _json)));
    }

    private async Task SendLoop(CancellationToken cancellationToken)
    {
        var reader = _outbox.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken))
            {
                while (reader.TryRead(out var outgoing))
                {
                    if (outgoing.Close is { } close)
                    {
                        await SendClose(close, outgoing.CloseDescription!, cancellationToken);

                        // The client answers with its own close, which ends the receive loop; one that does not is cut off.
                        _closing.CancelAfter(TimeSpan.FromSeconds(2));
                        return;
                    }

                    if (outgoing.Json is { } json)
                    {
                        await _socket.SendAsync(json, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
                        continue;
                    }

                    _eventSlots.Release();
                    await SendEvent(outgoing.Event!, cancellationToken);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            // The socket is gone: stop the receive loop too.
            await _closing.CancelAsync();
        }
    }

    private async Task SendEvent(ChannelEvent channelEvent, CancellationToken cancellationToken)
    {
        var taskId = channelEvent.TaskId;
        lock (_gate)
        {
            if (taskId is not null && (_stopped.Contains(taskId) || (_fenceUnknownTasks && !_openTasks.ContainsKey(taskId))))
            {
                return;
            }

            if (taskId is not null && channelEvent is TaskStartedEvent)
            {
                _openTasks.TryAdd(taskId, channelEvent.ContextId);
            }
            else if (taskId is not null && channelEvent is TaskEndedEvent)
            {
                _openTasks.Remove(taskId);
            }
        }

        Volatile.Write(ref _lastSentSequence, channelEvent.Sequence);
        switch (channelEvent)
        {
            case TaskStartedEvent started:
                await SendJson(new StatusMessage(started.TaskId!, "processing", 0, null, started.RequestId, started.ContextId, started.Sequence), cancellationToken);
                break;
            case AudioEvent audio:
                await SendAudio(audio.TaskId!, audio.Audio, audio.RequestId, audio.ContextId, audio.Sequence, cancellationToken);
                break;
            case WordsEvent words:
                await SendJson(new TimestampsMessage(words.TaskId!, words.Words, words.RequestId, words.ContextId, words.Sequence), cancellationToken);
                break;
            case TaskEndedEvent ended:
                await SendJson(
                    new StatusMessage(ended.TaskId!, StatusName(ended.Status), Math.Round(ended.Progress, 3),
                        ended.Error is { } error ? new ErrorBody(error.Code, error.Message) : null,
                        ended.RequestId, ended.ContextId, ended.Sequence, DurationMs: ended.DurationMs),
                    cancellationToken);
                break;
            case ContextEndedEvent contextEnded:
                await SendJson(new ContextEndMessage(contextEnded.ContextId!, contextEnded.RequestId, contextEnded.Sequence), cancellationToken);
                break;
        }
    }

    private async Task SendAudio(string taskId, ReadOnlyMemory<byte> audio, string? requestId, string? contextId, long sequence, CancellationToken cancellationToken)
    {
        if (!_binary)
        {
            await SendJson(new AudioMessage(taskId, Convert.ToBase64String(audio.Span), requestId, contextId, sequence), cancellationToken);
            return;
        }

        var length = FrameHeaderLength + audio.Length;
        var frame = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            WriteFrameHeader(frame, audio.Length, sequence);
            audio.Span.CopyTo(frame.AsSpan(FrameHeaderLength));
            await _socket.SendAsync(frame.AsMemory(0, length), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>The seed's header, big-endian: message_type (1 = audio), data_length (8 + audio bytes); the data starts with the sequence.</summary>
    public static void WriteFrameHeader(Span<byte> frame, int audioLength, long sequence)
    {
        BinaryPrimitives.WriteUInt32BigEndian(frame, AudioMessageType);
        BinaryPrimitives.WriteUInt32BigEndian(frame[4..], (uint)(audioLength + sizeof(long)));
        BinaryPrimitives.WriteInt64BigEndian(frame[8..], sequence);
    }

    private async Task SendJson<T>(T message, CancellationToken cancellationToken) =>
        await _socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message, _json), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    private static string StatusName(SynthesisStatus status) => status switch
    {
        SynthesisStatus.Completed => "completed",
        SynthesisStatus.Cancelled => "cancelled",
        SynthesisStatus.Error => "error",
        SynthesisStatus.Processing => "processing",
        _ => "queued",
    };

    /// <summary>Queues the close frame behind what is already queued; the send loop sends it and stops.</summary>
    private void RequestClose(WebSocketCloseStatus status, string description)
    {
        _outbox.Writer.TryWrite(new Outgoing(null, null, status, description));
        _outbox.Writer.TryComplete();
    }

    private async Task SendClose(WebSocketCloseStatus status, string description, CancellationToken cancellationToken)
    {
        if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            await _socket.CloseOutputAsync(status, description, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "WebSocket of session {SessionId} failed")]
    private partial void LogSocketFailed(string? sessionId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "WebSocket of session {SessionId}: the cluster did not answer")]
    private partial void LogClusterFailed(string? sessionId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "WebSocket of session {SessionId}: listening to the channel again (attempt {Attempt})")]
    private partial void LogPumpRetry(string? sessionId, int attempt, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "WebSocket of session {SessionId}: the channel stream failed")]
    private partial void LogPumpFailed(string? sessionId, Exception exception);

    private readonly record struct Outgoing(ChannelEvent? Event, byte[]? Json, WebSocketCloseStatus? Close = null, string? CloseDescription = null);
}
