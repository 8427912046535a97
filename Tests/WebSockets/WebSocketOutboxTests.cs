using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using MitTts.Gateway.WebSockets;
using MitTts.Grains.Interfaces;

namespace MitTts.Tests.WebSockets;

/// <summary>What the send path puts on the wire, in order: JSON replies, status messages and audio frames of the channel, the close.</summary>
public sealed class WebSocketOutboxTests
{
    [Fact]
    public void The_frame_header_is_the_seeds_big_endian_layout()
    {
        var frame = new byte[WebSocketOutbox.SequencedFrameHeaderLength];
        Assert.Equal(8, WebSocketOutbox.WriteFrameHeader(frame, audioLength: 320, sequence: null));
        Assert.Equal<byte>([0, 0, 0, 1, 0, 0, 0x01, 0x40], frame[..8]);

        // Asked for at connect: the data starts with the frame's sequence number, and its length counts it.
        Assert.Equal(16, WebSocketOutbox.WriteFrameHeader(frame, audioLength: 320, sequence: 0x0102030405060708));
        Assert.Equal<byte>([0, 0, 0, 1, 0, 0, 0x01, 0x48, 1, 2, 3, 4, 5, 6, 7, 8], frame);
        Assert.Equal(1u, WebSocketOutbox.AudioMessageType);
    }

    [Fact]
    public async Task A_frame_is_the_seeds_type_length_and_audio_unless_the_session_asked_for_its_sequence()
    {
        var socket = new RecordingWebSocket();
        using var outbox = new WebSocketOutbox(socket, new InterruptFilter());
        await outbox.SendEvent(new AudioEvent(5, "t1", null, null, [10, 20, 30], 0.5), CancellationToken.None);
        outbox.Close(WebSocketCloseStatus.NormalClosure, "bye");

        await outbox.Run(CancellationToken.None);

        var (type, frame) = Assert.Single(socket.Sent);
        Assert.Equal(WebSocketMessageType.Binary, type);
        Assert.Equal<byte>([0, 0, 0, 1, 0, 0, 0, 3, 10, 20, 30], frame);
    }

    [Fact]
    public async Task A_task_is_bracketed_by_its_statuses_and_its_audio_goes_as_binary_frames()
    {
        var socket = new RecordingWebSocket();
        using var outbox = new WebSocketOutbox(socket, new InterruptFilter()) { FrameSequence = true };
        await outbox.SendEvent(new TaskStartedEvent(1, "t1", "r1", null), CancellationToken.None);
        await outbox.SendEvent(new AudioEvent(2, "t1", "r1", null, [10, 20, 30], 0.5), CancellationToken.None);
        await outbox.SendEvent(new TaskEndedEvent(3, "t1", "r1", null, SynthesisStatus.Completed, null, 1, 42), CancellationToken.None);
        outbox.Close(WebSocketCloseStatus.NormalClosure, "bye");

        await outbox.Run(CancellationToken.None);

        Assert.Equal(3, socket.Sent.Count);
        Assert.Equal("""{"type":"status","task_id":"t1","status":"processing","progress":0,"error":null,"request_id":"r1","sequence":1}""", Text(socket.Sent[0]));
        var (type, frame) = socket.Sent[1];
        Assert.Equal(WebSocketMessageType.Binary, type);
        Assert.Equal(8 + 3, (int)BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(4)));
        Assert.Equal(2, BinaryPrimitives.ReadInt64BigEndian(frame.AsSpan(8)));
        Assert.Equal<byte>([10, 20, 30], frame[WebSocketOutbox.SequencedFrameHeaderLength..]);
        Assert.Equal("completed", Json(socket.Sent[2])["status"]!.GetValue<string>());
        Assert.Equal(42, Json(socket.Sent[2])["duration_ms"]!.GetValue<int>());
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.SentCloseStatus);
        Assert.Equal(3, outbox.LastSentSequence);
    }

    [Fact]
    public async Task In_json_mode_audio_goes_as_base64_audio_messages()
    {
        var socket = new RecordingWebSocket();
        using var outbox = new WebSocketOutbox(socket, new InterruptFilter()) { Binary = false };
        await outbox.SendEvent(new AudioEvent(7, "t1", null, "c1", [0, 1, 2], 0.5), CancellationToken.None);
        outbox.Close(WebSocketCloseStatus.NormalClosure, "bye");

        await outbox.Run(CancellationToken.None);

        Assert.Equal("""{"type":"audio","task_id":"t1","data":"AAEC","context_id":"c1","sequence":7,"progress":0.5}""", Text(Assert.Single(socket.Sent)));
    }

    [Fact]
    public async Task Frames_already_queued_when_a_task_is_interrupted_are_not_sent()
    {
        var socket = new RecordingWebSocket();
        var filter = new InterruptFilter();
        using var outbox = new WebSocketOutbox(socket, filter);
        await outbox.SendEvent(new TaskStartedEvent(1, "t1", null, null), CancellationToken.None);
        await outbox.SendEvent(new AudioEvent(2, "t1", null, null, [1], 0.1), CancellationToken.None);
        await outbox.SendEvent(new TaskStartedEvent(3, "t2", null, null), CancellationToken.None);

        outbox.Send(new InterruptedMessage(filter.Interrupt("t1", null).TaskIds, "barge_in", null, outbox.LastSentSequence));
        outbox.Close(WebSocketCloseStatus.NormalClosure, "bye");
        await outbox.Run(CancellationToken.None);

        Assert.Equal(2, socket.Sent.Count);
        Assert.Equal("t2", Json(socket.Sent[0])["task_id"]!.GetValue<string>());
        Assert.Equal("interrupted", Json(socket.Sent[1])["type"]!.GetValue<string>());
    }

    [Fact]
    public void An_acknowledgement_on_an_idle_socket_goes_out_at_once_without_waiting_for_the_send_loop()
    {
        var socket = new RecordingWebSocket();
        var filter = new InterruptFilter();
        using var outbox = new WebSocketOutbox(socket, filter);

        // The send loop is not even running: nothing is queued or being sent, so the caller sends it.
        outbox.SendAcknowledgement(new InterruptedMessage(filter.Interrupt(null, null).TaskIds, "user_stop", null, 0), System.Diagnostics.Stopwatch.GetTimestamp());

        Assert.Equal("interrupted", Json(Assert.Single(socket.Sent))["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_acknowledgement_goes_out_behind_what_was_queued_before_it()
    {
        var socket = new RecordingWebSocket();
        var filter = new InterruptFilter();
        using var outbox = new WebSocketOutbox(socket, filter);
        outbox.Send(new PongMessage(0));
        await outbox.SendEvent(new TaskStartedEvent(1, "t2", null, null), CancellationToken.None);

        outbox.SendAcknowledgement(new InterruptedMessage(filter.Interrupt("t1", null).TaskIds, "user_stop", null, 0), System.Diagnostics.Stopwatch.GetTimestamp());
        Assert.Empty(socket.Sent);
        outbox.Close(WebSocketCloseStatus.NormalClosure, "bye");
        await outbox.Run(CancellationToken.None);

        Assert.Equal(["pong", "status", "interrupted"], socket.Sent.Select(m => Json(m)["type"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Cancelled_statuses_follow_a_held_acknowledgement_before_the_next_task_begins()
    {
        var socket = new RecordingWebSocket();
        var filter = new InterruptFilter();
        using var outbox = new WebSocketOutbox(socket, filter);
        filter.Submitted("t1", "a");
        var stopped = filter.Interrupt("t1", null);

        // The acknowledgement goes out at once on an idle socket, and the client is slow to take it; meanwhile the channel moves on.
        var held = new TaskCompletionSource();
        socket.HoldNext = held;
        outbox.SendAcknowledgement(new InterruptedMessage(stopped.TaskIds, "barge_in", null, 0), System.Diagnostics.Stopwatch.GetTimestamp(), Endings(stopped));
        await outbox.SendEvent(new TaskStartedEvent(1, "t2", "b", null), CancellationToken.None);
        outbox.Close(WebSocketCloseStatus.NormalClosure, "bye");
        var running = outbox.Run(CancellationToken.None);
        held.SetResult();
        await running;

        Assert.Equal(["interrupted", "t1 cancelled a", "t2 processing b"], socket.Sent.Select(Describe));
    }

    [Fact]
    public async Task Cancelled_statuses_follow_a_queued_acknowledgement_before_what_was_queued_after_it()
    {
        var socket = new RecordingWebSocket();
        var filter = new InterruptFilter();
        using var outbox = new WebSocketOutbox(socket, filter);
        filter.Submitted("t1", "a");
        filter.Submitted("t3", "c");
        outbox.Send(new PongMessage(0));

        var stopped = filter.Interrupt(null, null);
        filter.LiftFence(); // the channel has answered: t2 is a task that plays on
        outbox.SendAcknowledgement(new InterruptedMessage(stopped.TaskIds, "barge_in", null, 0), System.Diagnostics.Stopwatch.GetTimestamp(), Endings(stopped));
        await outbox.SendEvent(new TaskStartedEvent(1, "t2", "b", null), CancellationToken.None);
        outbox.Close(WebSocketCloseStatus.NormalClosure, "bye");
        await outbox.Run(CancellationToken.None);

        Assert.Equal(["pong", "interrupted", "t1 cancelled a", "t3 cancelled c", "t2 processing b"], socket.Sent.Select(Describe));
    }

    private static StatusMessage[] Endings(StoppedTasks stopped) =>
        [.. stopped.Open.Select(t => new StatusMessage(t.TaskId, "cancelled", t.Progress, null, t.RequestId, t.ContextId, null))];

    private static string Describe((WebSocketMessageType Type, byte[] Data) message)
    {
        var json = Json(message);
        return json["type"]!.GetValue<string>() == "status"
            ? $"{json["task_id"]} {json["status"]} {json["request_id"]}"
            : json["type"]!.GetValue<string>();
    }

    [Fact]
    public async Task Replies_and_the_close_go_out_in_the_order_they_were_queued()
    {
        var socket = new RecordingWebSocket();
        using var outbox = new WebSocketOutbox(socket, new InterruptFilter());
        outbox.Send(new PongMessage(0));
        outbox.Close(WebSocketCloseStatus.PolicyViolation, "more than 500 messages per second");
        outbox.Send(new PongMessage(1));

        await outbox.Run(CancellationToken.None);

        Assert.Equal("""{"type":"pong","last_sequence":0}""", Text(Assert.Single(socket.Sent)));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.SentCloseStatus);
    }

    [Fact]
    public async Task A_pong_names_the_last_sequence_sent_before_it_not_before_the_ping_was_read()
    {
        var socket = new RecordingWebSocket();
        using var outbox = new WebSocketOutbox(socket, new InterruptFilter());
        await outbox.SendEvent(new TaskStartedEvent(7, "t1", null, null), CancellationToken.None);
        await outbox.SendEvent(new AudioEvent(8, "t1", null, null, [1, 2], 0.5), CancellationToken.None);
        outbox.SendPong();
        outbox.Close(WebSocketCloseStatus.NormalClosure, "bye");

        await outbox.Run(CancellationToken.None);

        Assert.Equal("""{"type":"pong","last_sequence":8}""", Text(socket.Sent[^1]));
    }

    private static string Text((WebSocketMessageType Type, byte[] Data) message) =>
        message.Type == WebSocketMessageType.Text ? Encoding.UTF8.GetString(message.Data) : "";

    private static JsonObject Json((WebSocketMessageType Type, byte[] Data) message) => JsonNode.Parse(message.Data)!.AsObject();
}
