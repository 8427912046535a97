using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace MitTts.Tests.WebSockets;

/// <summary>A message from the server: JSON, or a binary audio frame parsed by the documented header (its sequence 0 when the session
/// did not ask for sequenced frames).</summary>
public sealed record ServerMessage(JsonObject? Json, long Sequence, byte[]? Audio)
{
    public string Type => Json?["type"]?.GetValue<string>() ?? "audio_frame";

    public bool IsAudio => Audio is not null;

    public string? Str(string name) => Json?[name]?.GetValue<string>();

    public long? Seq => Audio is not null ? (Sequence > 0 ? Sequence : null) : Json?["sequence"]?.GetValue<long>();

    public override string ToString() => Json?.ToJsonString() ?? $"audio #{Sequence} ({Audio!.Length} bytes)";
}

/// <summary>A real WebSocket client speaking the MitTts protocol, with timeouts so a broken server fails a test instead of hanging it.</summary>
/// <remarks>The suite follows frames by their sequence numbers, so a <c>connect</c> sent through <see cref="Send"/> asks for sequenced
/// frames unless it says otherwise; frames are parsed by what the server's <c>connected</c> says (the seed's plain frames before any, as on
/// a session a <c>synthesize</c> opened).</remarks>
public sealed class ProtocolClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly Channel<ServerMessage?> _inbox = Channel.CreateUnbounded<ServerMessage?>();
    private Task? _reading;
    private bool _frameSequence;

    private ProtocolClient()
    {
    }

    public WebSocket Socket => _socket;

    /// <summary>Every message received so far, for diagnosing a failed test.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<ServerMessage> Received { get; } = new();

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    /// <summary>Opens <c>/ws</c>; <paramref name="query"/> (such as <c>token=…</c>) and <paramref name="bearer"/> (an Authorization header)
    /// go with the upgrade.</summary>
    public static async Task<ProtocolClient> Connect(Uri baseAddress, string? query = null, string? bearer = null)
    {
        var client = new ProtocolClient();
        if (bearer is not null)
        {
            client._socket.Options.SetRequestHeader("Authorization", "Bearer " + bearer);
        }

        var uri = new UriBuilder(baseAddress) { Scheme = baseAddress.Scheme == "https" ? "wss" : "ws", Path = "/ws", Query = query ?? string.Empty }.Uri;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await client._socket.ConnectAsync(uri, timeout.Token);
        client._reading = client.ReadLoop();
        return client;
    }

    public Task Send(object message)
    {
        var json = JsonSerializer.SerializeToNode(message)!.AsObject();
        if (json["type"]?.GetValue<string>() == "connect" && !json.ContainsKey("frame_sequence"))
        {
            json["frame_sequence"] = true;
        }

        return SendText(json.ToJsonString());
    }

    public async Task SendText(string json)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, timeout.Token);
    }

    /// <summary>The next message, or null when the server closed the socket; throws on a timeout.</summary>
    public async Task<ServerMessage?> Receive(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        return await _inbox.Reader.ReadAsync(cancel.Token);
    }

    // One reader for the socket's whole life: a receive cancelled by a timeout would abort a ClientWebSocket.
    private async Task ReadLoop()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                using var message = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        _inbox.Writer.TryWrite(null);
                        return;
                    }

                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);

                var parsed = Parse(message.ToArray(), result.MessageType, _frameSequence);
                if (parsed.Type == "connected")
                {
                    _frameSequence = parsed.Json!["frame_sequence"]?.GetValue<bool>() ?? false;
                }

                Received.Enqueue(parsed);
                _inbox.Writer.TryWrite(parsed);
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            _inbox.Writer.TryWrite(null);
        }
    }

    private static ServerMessage Parse(byte[] bytes, WebSocketMessageType type, bool sequenced)
    {
        if (type == WebSocketMessageType.Text)
        {
            return new ServerMessage(JsonNode.Parse(bytes)!.AsObject(), 0, null);
        }

        // The seed's header: message_type (1 = audio) and data_length, big-endian; the data is the rest of the frame.
        Assert.True(bytes.Length >= (sequenced ? 16 : 8), $"a binary frame has a {(sequenced ? 16 : 8)}-byte header");
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(bytes));
        var dataLength = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4));
        Assert.Equal(bytes.Length - 8, (int)dataLength);
        return sequenced
            ? new ServerMessage(null, BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(8)), bytes[16..])
            : new ServerMessage(null, 0, bytes[8..]);
    }

    /// <summary>Messages until one matches (returned last), failing on a close or a timeout.</summary>
    public async Task<List<ServerMessage>> ReceiveUntil(Func<ServerMessage, bool> last, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        var messages = new List<ServerMessage>();
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            Assert.True(left > TimeSpan.Zero, $"timed out; received: {string.Join(" | ", messages.TakeLast(5))}");
            var message = await Receive(left) ?? throw new Xunit.Sdk.XunitException($"socket closed ({_socket.CloseStatus}); received: {string.Join(" | ", messages.TakeLast(5))}");
            messages.Add(message);
            if (last(message))
            {
                return messages;
            }
        }
    }

    /// <summary>Every message that arrives within <paramref name="window"/> (none is fine).</summary>
    public async Task<List<ServerMessage>> Drain(TimeSpan window)
    {
        var messages = new List<ServerMessage>();
        using var cancel = new CancellationTokenSource(window);
        try
        {
            while (await _inbox.Reader.ReadAsync(cancel.Token) is { } message)
            {
                messages.Add(message);
            }
        }
        catch (OperationCanceledException)
        {
        }

        return messages;
    }

    public static bool IsEnd(ServerMessage m, string taskId) =>
        m.Type == "status" && m.Str("task_id") == taskId && m.Str("status") is "completed" or "error" or "cancelled";

    public async ValueTask DisposeAsync()
    {
        // Only the close goes out here; the read loop takes the server's answer. CloseAsync would receive too, alongside the read loop,
        // and a message split between the two readers arrives cut (a frame whose header and length no longer match).
        if (_socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
                if (_reading is not null)
                {
                    await _reading.WaitAsync(timeout.Token);
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or TimeoutException)
            {
            }
        }

        _socket.Abort();
        _socket.Dispose();
        if (_reading is not null)
        {
            await _reading;
        }
    }
}
