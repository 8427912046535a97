using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using MitTts.Gateway.Telemetry;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.WebSockets;

/// <summary>The only writer to a client socket: JSON replies, the channel's events as status messages and audio frames, and the close
/// handshake, sent in the order they were queued.</summary>
/// <remarks>Channel events pass the <see cref="InterruptFilter"/> at the moment of sending, so once an interrupt's acknowledgement is
/// queued no frame of a stopped task can follow it, whatever was already in flight.</remarks>
public sealed class WebSocketOutbox : IDisposable
{
    /// <summary>The seed's header of a binary audio frame: message type, then data length; the audio follows.</summary>
    public const int FrameHeaderLength = 8;

    /// <summary>The header with the frame's sequence number after the data length (<c>frame_sequence</c> at <c>connect</c>).</summary>
    public const int SequencedFrameHeaderLength = FrameHeaderLength + sizeof(long);

    /// <summary>The seed's <c>message_type</c> for audio.</summary>
    public const uint AudioMessageType = 1;

    // Channel events waiting here hold the pump back: a slow client slows its reader of the channel, not the gateway's memory.
    private const int MaxQueuedEvents = 256;

    private static readonly JsonSerializerOptions Json = ProtocolJsonContext.Default.Options;

    private readonly WebSocket _socket;
    private readonly InterruptFilter _filter;
    // Continuations run on the pool, not on the writer's thread: sending inline from whoever queued (tried) put socket sends on the
    // threads that deliver grain responses, and first audio through a client gateway got 3-5 ms slower (cluster benchmark, A/B).
    private readonly Channel<Outgoing> _queue = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _eventSlots = new(MaxQueuedEvents, MaxQueuedEvents);
    private readonly SemaphoreSlim _sending = new(1, 1);

    // Items queued and not yet taken by the send loop under _sending (Enqueue).
    private int _queued;
    private readonly CancellationTokenSource _closing = new();
    private long _lastSentSequence;

    private readonly GatewayMetrics? _metrics;

    public WebSocketOutbox(WebSocket socket, InterruptFilter filter, GatewayMetrics? metrics = null)
    {
        _socket = socket;
        _filter = filter;
        _metrics = metrics;
        FirstAudio = new FirstAudioClock(metrics);
    }

    /// <summary>Times this socket's tasks to their first audio frame.</summary>
    public FirstAudioClock FirstAudio { get; }

    /// <summary>Cancelled when the socket is going away: sending failed, or the close went out and the client had time to answer it.</summary>
    public CancellationToken Closing => _closing.Token;

    /// <summary>Audio as binary frames (the default), or as base64 <c>audio</c> JSON messages.</summary>
    public bool Binary { get; set; } = true;

    /// <summary>Binary frames carry their sequence number between the header and the audio (what a client needs to resume from the
    /// last frame it has); off by default, so a frame is the seed's: type, length, audio.</summary>
    public bool FrameSequence { get; set; }

    /// <summary>The sequence of the last channel event sent (or of the resume point, before any).</summary>
    public long LastSentSequence
    {
        get => Volatile.Read(ref _lastSentSequence);
        set => Volatile.Write(ref _lastSentSequence, value);
    }

    /// <summary>Queues a JSON message that goes out only once <paramref name="after"/> has completed (it must not fault, and should be
    /// bounded): everything queued behind it waits too.</summary>
    public void Send<T>(T message, Task after) => Enqueue(new Outgoing(null, JsonSerializer.SerializeToUtf8Bytes(message, Json), After: after));

    /// <summary>Queues a JSON message; an error is counted under its code.</summary>
    public void Send<T>(T message)
    {
        if (message is ErrorMessage error)
        {
            // An error that says when to retry is a refusal for load (rate_limited, too_many_sessions).
            _metrics?.Error(error.Code);
            if (error.RetryAfter is not null)
            {
                _metrics?.Rejected(error.Code);
            }
        }

        Enqueue(new Outgoing(null, JsonSerializer.SerializeToUtf8Bytes(message, Json)));
    }

    /// <summary>Queues the answer to a <c>ping</c>: its <c>last_sequence</c> is taken when it goes out, so it counts the events queued
    /// ahead of it (taken when the ping was read, it could name a sequence far behind the frames that arrived before it).</summary>
    public void SendPong() => Enqueue(new Outgoing(null, null, Pong: true));

    /// <summary>Sends an interrupt's acknowledgement: started at once on the caller's thread when nothing is queued or being sent, else
    /// queued behind what is; its latency from <paramref name="received"/> (a <see cref="System.Diagnostics.Stopwatch"/> timestamp) is
    /// measured when it has been sent. The caller never waits for the socket. <paramref name="endings"/> (the stopped tasks' <c>cancelled</c>
    /// statuses) go right behind it, nothing else between.</summary>
    /// <remarks>Queued, an acknowledgement waited for the send loop to be scheduled on the thread pool even with nothing ahead of it:
    /// 1.3 ms at the median and 18 ms at p99 with 50 sessions streaming on two cores (the interrupt benchmark, timed inside the gateway),
    /// most of the server's share of the acknowledgement's latency.</remarks>
    public void SendAcknowledgement(InterruptedMessage message, long received, IReadOnlyList<StatusMessage>? endings = null)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(message, Json);
        var then = Serialized(endings);
        // Counted only while the right to send is held: anything queued before this goes first, in order.
        var free = _sending.Wait(0);
        if (!free || Volatile.Read(ref _queued) > 0)
        {
            if (free)
            {
                _sending.Release();
            }

            Enqueue(new Outgoing(null, json, Received: received, Then: then));
            return;
        }

        ValueTask sending;
        try
        {
            sending = _socket.SendAsync(json.AsMemory(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The socket is going away (closed, or its close already sent): there is no one to acknowledge to.
            _sending.Release();
            return;
        }

        if (sending.IsCompletedSuccessfully && then is null)
        {
            _metrics?.InterruptAcknowledged(received);
            _sending.Release();
            return;
        }

        _ = FinishAcknowledgement(sending, received, then);
    }

    private static byte[][]? Serialized(IReadOnlyList<StatusMessage>? endings)
    {
        if (endings is not { Count: > 0 })
        {
            return null;
        }

        var serialized = new byte[endings.Count][];
        for (var i = 0; i < serialized.Length; i++)
        {
            serialized[i] = JsonSerializer.SerializeToUtf8Bytes(endings[i], Json);
        }

        return serialized;
    }

    /// <summary>Queues <paramref name="outgoing"/>, counted before it is visible to the send loop, which counts it off only while it
    /// holds the right to send: with nothing counted and that right held, nothing queued earlier is still to go.</summary>
    private bool Enqueue(Outgoing outgoing)
    {
        Interlocked.Increment(ref _queued);
        if (_queue.Writer.TryWrite(outgoing))
        {
            return true;
        }

        Interlocked.Decrement(ref _queued);
        return false;
    }

    private void ReleaseSending()
    {
        try
        {
            _sending.Release();
        }
        catch (ObjectDisposedException)
        {
            // The connection was disposed while the acknowledgement's send was failing with its socket.
        }
    }

    private async Task FinishAcknowledgement(ValueTask sending, long received, byte[][]? then)
    {
        try
        {
            await sending;
            _metrics?.InterruptAcknowledged(received);
            await SendAll(then, CancellationToken.None);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The socket went away under it.
        }
        finally
        {
            ReleaseSending();
        }
    }

    /// <summary>Queues a channel event, waiting while too many are queued; false once the outbox is closed.</summary>
    public async ValueTask<bool> SendEvent(ChannelEvent channelEvent, CancellationToken cancellationToken)
    {
        await _eventSlots.WaitAsync(cancellationToken);
        return Enqueue(new Outgoing(channelEvent, null, At: Stopwatch.GetTimestamp()));
    }

    /// <summary>Queues the close frame behind what is already queued; the send loop sends it and stops.</summary>
    public void Close(WebSocketCloseStatus status, string description)
    {
        Enqueue(new Outgoing(null, null, status, description));
        _queue.Writer.TryComplete();
    }

    /// <summary>Takes nothing more and signals <see cref="Closing"/>; what is queued still goes out.</summary>
    public async Task Complete()
    {
        await _closing.CancelAsync();
        _queue.Writer.TryComplete();
    }

    /// <summary>Sends until the queue is completed and drained, a close is sent, or the socket fails.</summary>
    public async Task Run(CancellationToken cancellationToken)
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken))
            {
                while (reader.TryRead(out var outgoing))
                {
                    if (outgoing.After is { IsCompleted: false } after)
                    {
                        // A task's queued status waits for its announcement (TaskAnnouncer: done ahead, as a rule): what is queued
                        // behind it, an acknowledgement included, waits too, so the order the client sees is unchanged.
                        await after.WaitAsync(cancellationToken);
                    }

                    // One sender at a time: an acknowledgement may be going out from the receive loop (SendAcknowledgement).
                    // Inline, not a helper per item: an awaited helper would allocate its state machine for every frame.
                    await _sending.WaitAsync(cancellationToken);
                    Interlocked.Decrement(ref _queued);
                    try
                    {
                        if (outgoing.Close is { } close)
                        {
                            await SendClose(close, outgoing.CloseDescription!, cancellationToken);

                            // The client answers with its own close, which ends the receive loop; one that does not is cut off.
                            _closing.CancelAfter(TimeSpan.FromSeconds(2));
                            return;
                        }

                        if ((outgoing.Pong ? JsonSerializer.SerializeToUtf8Bytes(new PongMessage(LastSentSequence), Json) : outgoing.Json) is { } json)
                        {
                            await _socket.SendAsync(json, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
                            if (outgoing.Received is { } received)
                            {
                                _metrics?.InterruptAcknowledged(received);
                            }

                            await SendAll(outgoing.Then, cancellationToken);
                            continue;
                        }

                        _eventSlots.Release();
                        if (_filter.Admit(outgoing.Event!))
                        {
                            await Send(outgoing.Event!, outgoing.At, cancellationToken);
                        }
                    }
                    finally
                    {
                        _sending.Release();
                    }
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            // The socket is gone: stop the receive loop too.
            await _closing.CancelAsync();
        }
    }

    /// <summary>The seed's header, big-endian: message_type (1 = audio), data_length; returns its length. Without a sequence the data is
    /// the audio; with one, the data is the 8-byte sequence and then the audio.</summary>
    public static int WriteFrameHeader(Span<byte> frame, int audioLength, long? sequence)
    {
        BinaryPrimitives.WriteUInt32BigEndian(frame, AudioMessageType);
        if (sequence is not { } number)
        {
            BinaryPrimitives.WriteUInt32BigEndian(frame[4..], (uint)audioLength);
            return FrameHeaderLength;
        }

        BinaryPrimitives.WriteUInt32BigEndian(frame[4..], (uint)(audioLength + sizeof(long)));
        BinaryPrimitives.WriteInt64BigEndian(frame[FrameHeaderLength..], number);
        return SequencedFrameHeaderLength;
    }

    public void Dispose()
    {
        _closing.Dispose();
        _eventSlots.Dispose();
        _sending.Dispose();
    }

    /// <summary>Sends what must follow a message with nothing else between them (an acknowledgement's <c>cancelled</c> statuses).</summary>
    private async Task SendAll(byte[][]? messages, CancellationToken cancellationToken)
    {
        if (messages is null)
        {
            return;
        }

        foreach (var message in messages)
        {
            await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        }
    }

    private async Task Send(ChannelEvent channelEvent, long fromChannel, CancellationToken cancellationToken)
    {
        LastSentSequence = channelEvent.Sequence;
        switch (channelEvent)
        {
            case TaskStartedEvent started:
                await SendJson(new StatusMessage(started.TaskId!, "processing", 0, null, started.RequestId, started.ContextId, started.Sequence), cancellationToken);
                break;
            case AudioEvent audio:
                await SendAudio(audio, cancellationToken);
                FirstAudio.AudioSent(audio.TaskId!, fromChannel);
                break;
            case WordsEvent words:
                await SendJson(new TimestampsMessage(words.TaskId!, words.Words, words.RequestId, words.ContextId, words.Sequence), cancellationToken);
                break;
            case TaskEndedEvent ended:
                FirstAudio.Forget(ended.TaskId!);
                await SendJson(
                    new StatusMessage(ended.TaskId!, StatusName(ended.Status), Math.Round(ended.Progress, 3),
                        ended.Error is { } error ? new ErrorBody(error.Code, error.Message) : null,
                        ended.RequestId, ended.ContextId, ended.Sequence,
                        DurationMs: ended.Status == SynthesisStatus.Completed ? ended.DurationMs : null), // a stopped task's length is not known
                    cancellationToken);
                break;
            case ContextEndedEvent contextEnded:
                await SendJson(new ContextEndMessage(contextEnded.ContextId!, contextEnded.RequestId, contextEnded.Sequence), cancellationToken);
                break;
        }
    }

    private async Task SendAudio(AudioEvent audioEvent, CancellationToken cancellationToken)
    {
        ReadOnlyMemory<byte> audio = audioEvent.Audio;
        var sequence = audioEvent.Sequence;
        if (!Binary)
        {
            // JSON mode carries the task's progress with each piece (what a progress bar needs; binary frames have no room for it).
            await SendJson(new AudioMessage(audioEvent.TaskId!, Convert.ToBase64String(audio.Span), audioEvent.RequestId, audioEvent.ContextId, sequence,
                Math.Round(audioEvent.Progress, 3)), cancellationToken);
            return;
        }

        var frame = ArrayPool<byte>.Shared.Rent(SequencedFrameHeaderLength + audio.Length);
        try
        {
            var header = WriteFrameHeader(frame, audio.Length, FrameSequence ? sequence : null);
            audio.Span.CopyTo(frame.AsSpan(header));
            await _socket.SendAsync(frame.AsMemory(0, header + audio.Length), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    private async Task SendJson<T>(T message, CancellationToken cancellationToken) =>
        await _socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message, Json), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    private static string StatusName(SynthesisStatus status) => status switch
    {
        SynthesisStatus.Completed => "completed",
        SynthesisStatus.Cancelled => "cancelled",
        SynthesisStatus.Error => "error",
        SynthesisStatus.Processing => "processing",
        _ => "queued",
    };

    private async Task SendClose(WebSocketCloseStatus status, string description, CancellationToken cancellationToken)
    {
        if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            await _socket.CloseOutputAsync(status, description, cancellationToken);
        }
    }

    // At: when a channel event came from the channel (a Stopwatch timestamp), for the first audio's deliver stage.
    // After: what a message waits for before it goes out (null for almost every item).
    // Then: messages sent right behind Json, nothing between them (null for almost every item).
    private readonly record struct Outgoing(
        ChannelEvent? Event,
        byte[]? Json,
        WebSocketCloseStatus? Close = null,
        string? CloseDescription = null,
        long? Received = null,
        long At = 0,
        Task? After = null,
        byte[][]? Then = null,
        bool Pong = false);
}
