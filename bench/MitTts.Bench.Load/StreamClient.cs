using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace MitTts.Bench.Load;

/// <summary>A message from the server as the client saw it: when it arrived (Stopwatch ticks) and what it was.</summary>
/// <remarks>JSON messages keep their type, status and task id, an error's code and retry_after, and a finished task's duration_ms; audio
/// frames their sequence, size and (when asked) bytes.</remarks>
internal readonly record struct Received(long At, string? Type, string? Status, string? TaskId, long Sequence, int AudioBytes, byte[]? Audio,
    string? Code = null, double? RetryAfter = null, int? DurationMs = null)
{
    public bool IsAudio => Type is null;

    public bool IsEndOf(string taskId) => Type == "status" && TaskId == taskId && Status is "completed" or "error" or "cancelled";
}

/// <summary>A real WebSocket client of <c>/ws</c>, lean enough to run hundreds of in one process: one read loop per socket
/// that timestamps each message the moment its last byte is read.</summary>
internal sealed class StreamClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly Channel<Received> _inbox = Channel.CreateUnbounded<Received>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly bool _keepAudio;
    private Task _reading = Task.CompletedTask;

    private StreamClient(bool keepAudio)
    {
        _keepAudio = keepAudio;
        _socket.Options.KeepAliveInterval = Timeout.InfiniteTimeSpan;
    }

    public static Uri SocketUri(Uri baseAddress) =>
        new UriBuilder(baseAddress) { Scheme = baseAddress.Scheme == "https" ? "wss" : "ws", Path = "/ws" }.Uri;

    public static async Task<StreamClient> Connect(Uri baseAddress, bool keepAudio = false)
    {
        var client = new StreamClient(keepAudio);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await client._socket.ConnectAsync(SocketUri(baseAddress), timeout.Token);
        client._reading = Task.Run(client.ReadLoop);
        return client;
    }

    /// <summary>Connects and opens a new session with <c>connect</c> (binary audio frames, each with its sequence number).</summary>
    public static async Task<StreamClient> Open(Uri baseAddress, bool keepAudio = false)
    {
        var client = await Connect(baseAddress, keepAudio);
        await client.Send("{\"type\":\"connect\",\"binary\":true,\"frame_sequence\":true}");
        await client.ReceiveUntil(m => m.Type == "connected", TimeSpan.FromSeconds(60));
        return client;
    }

    /// <summary>Sends one JSON message and returns the Stopwatch timestamp taken just before it went out.</summary>
    public async Task<long> Send(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var at = Stopwatch.GetTimestamp();
        await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        return at;
    }

    public static string Synthesize(string text, string format, string? requestId = null, int? bitrate = null, string voice = "en-male-1") =>
        JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["type"] = "synthesize",
            ["text"] = text,
            ["voice_id"] = voice,
            ["format"] = format,
            ["priority"] = "high",
            ["stream"] = true,
            ["request_id"] = requestId,
            ["bitrate"] = bitrate,
        });

    /// <summary>The next message; throws <see cref="EndOfStreamException"/> when the socket closed and on a timeout.</summary>
    public async ValueTask<Received> Receive(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            if (await _inbox.Reader.WaitToReadAsync(cancel.Token) && _inbox.Reader.TryRead(out var message))
            {
                return message;
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("no message from the server in time");
        }

        throw new EndOfStreamException($"the server closed the socket ({_socket.CloseStatus})");
    }

    /// <summary>The next message if one arrives within <paramref name="window"/>.</summary>
    public async ValueTask<Received?> TryReceive(TimeSpan window)
    {
        using var cancel = new CancellationTokenSource(window);
        try
        {
            if (await _inbox.Reader.WaitToReadAsync(cancel.Token) && _inbox.Reader.TryRead(out var message))
            {
                return message;
            }
        }
        catch (OperationCanceledException)
        {
        }

        return null;
    }

    public async ValueTask<Received> ReceiveUntil(Func<Received, bool> last, TimeSpan? timeout = null)
    {
        while (true)
        {
            var message = await Receive(timeout);
            if (last(message))
            {
                return message;
            }
        }
    }

    private async Task ReadLoop()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }

                    length += result.Count;
                }
                while (!result.EndOfMessage);

                var at = Stopwatch.GetTimestamp();
                _inbox.Writer.TryWrite(result.MessageType == WebSocketMessageType.Binary
                    ? ParseAudio(at, buffer.AsSpan(0, length))
                    : ParseJson(at, buffer.AsSpan(0, length)));
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            _inbox.Writer.TryComplete();
        }
    }

    private Received ParseAudio(long at, ReadOnlySpan<byte> frame)
    {
        // Header, big-endian: u32 message_type (1), u32 data_length (8 + audio), i64 sequence; then the audio.
        if (frame.Length < 16 || BinaryPrimitives.ReadUInt32BigEndian(frame) != 1 || BinaryPrimitives.ReadUInt32BigEndian(frame[4..]) != frame.Length - 8)
        {
            throw new InvalidDataException("malformed audio frame header");
        }

        var audio = frame[16..];
        return new Received(at, null, null, null, BinaryPrimitives.ReadInt64BigEndian(frame[8..]), audio.Length, _keepAudio ? audio.ToArray() : null);
    }

    private static Received ParseJson(long at, ReadOnlySpan<byte> json)
    {
        string? type = null, status = null, taskId = null, code = null;
        double? retryAfter = null;
        int? durationMs = null;
        var reader = new Utf8JsonReader(json);
        reader.Read();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            var name = reader.ValueTextEquals("type"u8) ? 1 : reader.ValueTextEquals("status"u8) ? 2 : reader.ValueTextEquals("task_id"u8) ? 3
                : reader.ValueTextEquals("code"u8) ? 4 : reader.ValueTextEquals("retry_after"u8) ? 5 : reader.ValueTextEquals("duration_ms"u8) ? 6
                : reader.ValueTextEquals("error"u8) ? 7 : 0;
            reader.Read();
            switch (name)
            {
                case 1 when reader.TokenType == JsonTokenType.String:
                    type = reader.GetString();
                    break;
                case 2 when reader.TokenType == JsonTokenType.String:
                    status = reader.GetString();
                    break;
                case 3 when reader.TokenType == JsonTokenType.String:
                    taskId = reader.GetString();
                    break;
                case 4 when reader.TokenType == JsonTokenType.String:
                    code = reader.GetString();
                    break;
                case 5 when reader.TokenType == JsonTokenType.Number:
                    retryAfter = reader.GetDouble();
                    break;
                case 6 when reader.TokenType == JsonTokenType.Number:
                    durationMs = reader.GetInt32();
                    break;
                case 7 when reader.TokenType == JsonTokenType.StartObject:
                    // A status message's error: {"code": ..., "message": ...}.
                    code = ErrorCode(ref reader);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new Received(at, type, status, taskId, 0, 0, null, code, retryAfter, durationMs);
    }

    /// <summary>The <c>code</c> of the error object the reader stands at the start of; leaves the reader at its end.</summary>
    private static string? ErrorCode(ref Utf8JsonReader reader)
    {
        string? code = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var isCode = reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("code"u8);
            reader.Read();
            if (isCode && reader.TokenType == JsonTokenType.String)
            {
                code = reader.GetString();
            }
            else
            {
                reader.Skip();
            }
        }

        return code;
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
                await _reading.WaitAsync(timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or TimeoutException)
            {
            }
        }

        _socket.Abort();
        _socket.Dispose();
        await _reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
