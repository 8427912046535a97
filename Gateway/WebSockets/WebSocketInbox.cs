using System.Buffers;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;

namespace MitTts.Gateway.WebSockets;

/// <summary>Reads a client's messages off the socket: whole JSON messages, within the size limit and the flood budget.</summary>
/// <remarks>A binary message is read as the UTF-8 JSON it should hold, as a text one is (clients that send encoded bytes, such as
/// Python's <c>websockets</c> given <c>bytes</c>, send binary frames); one that is not JSON gets <c>invalid_json</c> like any other.
/// Protocol abuse queues the close on the <see cref="WebSocketOutbox"/> and ends the reading: 1009 for a message too big, 1008 for
/// a flood.</remarks>
public sealed class WebSocketInbox : IDisposable
{
    private readonly WebSocket _socket;
    private readonly WebSocketOutbox _outbox;
    private readonly int _maxMessageBytes;
    private readonly FloodControl _flood;

    public WebSocketInbox(WebSocket socket, WebSocketOutbox outbox, WebSocketProtocolOptions options)
    {
        _socket = socket;
        _outbox = outbox;
        _maxMessageBytes = options.MaxMessageBytes;
        _flood = new FloodControl(options.MaxMessagesPerSecond);
    }

    /// <summary>Each message's UTF-8 bytes, valid until the next is asked for; ends when the client closes or breaks protocol.</summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadMessages([EnumeratorCancellation] CancellationToken cancellationToken)
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
                    _outbox.Close(WebSocketCloseStatus.NormalClosure, "bye");
                    yield break;
                }

                buffer.Advance(result.Count);
                if (buffer.WrittenCount > _maxMessageBytes)
                {
                    _outbox.Close(WebSocketCloseStatus.MessageTooBig, $"messages are limited to {_maxMessageBytes} bytes");
                    yield break;
                }
            }
            while (!result.EndOfMessage);

            if (!_flood.TryAccept())
            {
                _outbox.Close(WebSocketCloseStatus.PolicyViolation, _flood.CloseDescription);
                yield break;
            }

            yield return buffer.WrittenMemory;
        }
    }

    public void Dispose() => _flood.Dispose();
}
