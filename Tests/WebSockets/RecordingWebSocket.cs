using System.Net.WebSockets;

namespace MitTts.Tests.WebSockets;

/// <summary>A server-side socket that records what is sent on it, for testing the send path without a server.</summary>
public sealed class RecordingWebSocket : WebSocket
{
    private WebSocketState _state = WebSocketState.Open;

    /// <summary>Every message sent, with its type, in order.</summary>
    public List<(WebSocketMessageType Type, byte[] Data)> Sent { get; } = [];

    public WebSocketCloseStatus? SentCloseStatus { get; private set; }

    public override WebSocketCloseStatus? CloseStatus => SentCloseStatus;

    public override string? CloseStatusDescription { get; }

    public override WebSocketState State => _state;

    public override string? SubProtocol => null;

    public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
    {
        Assert.True(endOfMessage, "every message goes out in one piece");
        Assert.Equal(WebSocketState.Open, _state);
        Sent.Add((messageType, buffer.ToArray()));
        var hold = HoldNext;
        HoldNext = null;
        return hold?.Task ?? Task.CompletedTask;
    }

    /// <summary>When set, the next send is recorded but completes only when this does (a client slow to read); then cleared.</summary>
    public TaskCompletionSource? HoldNext { get; set; }

    public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
    {
        SentCloseStatus = closeStatus;
        _state = WebSocketState.CloseSent;
        return Task.CompletedTask;
    }

    public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
        CloseOutputAsync(closeStatus, statusDescription, cancellationToken);

    public override Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken) =>
        throw new NotSupportedException("the send path only");

    public override void Abort() => _state = WebSocketState.Aborted;

    public override void Dispose() => _state = WebSocketState.Closed;
}
