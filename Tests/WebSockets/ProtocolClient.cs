using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MitTts.Tests.WebSockets;

/// <summary>A message from the server: JSON, or a binary audio frame parsed by the documented header.</summary>
public sealed record ServerMessage(JsonObject? Json, long Sequence, byte[]? Audio)
{
    public string Type => Json?["type"]?.GetValue<string>() ?? "audio_frame";

    public bool IsAudio => Audio is not null;

    public string? Str(string name) => Json?[name]?.GetValue<string>();

    public long? Seq => Audio is not null ? Sequence : Json?["sequence"]?.GetValue<long>();

    public override string ToString() => Json?.ToJsonString() ?? $"audio #{Sequence} ({Audio!.Length} bytes)";
}

/// <summary>A real WebSocket client speaking the MitTts protocol, with timeouts so a broken server fails a test instead of hanging it.</summary>
public sealed class ProtocolClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly byte[] _buffer = new byte[64 * 1024];

    private ProtocolClient()
    {
    }

    public WebSocket Socket => _socket;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public static async Task<ProtocolClient> Connect(Uri baseAddress)
    {
        var client = new ProtocolClient();
        var uri = new UriBuilder(baseAddress) { Scheme = baseAddress.Scheme == "https" ? "wss" : "ws", Path = "/ws" }.Uri;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await client._socket.ConnectAsync(uri, timeout.Token);
        return client;
    }

    public Task Send(object message) => SendText(JsonSerializer.Serialize(message));

    public async Task SendText(string json)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, timeout.Token);
    }

    /// <summary>The next message, or null when the server closed the socket.</summary>
    public async Task<ServerMessage?> Receive(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        using var message = new MemoryStream();
        WebSocketReceiveResult result;
        do
        {
            result = await _socket.ReceiveAsync(_buffer, cancel.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            message.Write(_buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);

        var bytes = message.ToArray();
        if (result.MessageType == WebSocketMessageType.Text)
        {
            return new ServerMessage(JsonNode.Parse(bytes)!.AsObject(), 0, null);
        }

        Assert.True(bytes.Length >= 16, "a binary frame has a 16-byte header");
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(bytes));
        var dataLength = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4));
        Assert.Equal(bytes.Length - 8, (int)dataLength);
        return new ServerMessage(null, BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(8)), bytes[16..]);
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
        var deadline = DateTime.UtcNow + window;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var message = await Receive(deadline - DateTime.UtcNow);
                if (message is null)
                {
                    break;
                }

                messages.Add(message);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return messages;
    }

    public static bool IsEnd(ServerMessage m, string taskId) =>
        m.Type == "status" && m.Str("task_id") == taskId && m.Str("status") is "completed" or "error" or "cancelled";

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
        }

        _socket.Dispose();
    }
}
