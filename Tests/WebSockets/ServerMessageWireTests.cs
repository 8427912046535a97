using System.Text.Json;
using MitTts.Gateway.WebSockets;
using MitTts.Grains.Interfaces;

namespace MitTts.Tests.WebSockets;

/// <summary>The server's JSON messages byte for byte: snake_case, <c>type</c> first, nulls left out except a status's <c>error</c>.</summary>
public sealed class ServerMessageWireTests
{
    public static TheoryData<object, string> Messages => new()
    {
        { new ConnectedMessage("s1", Resumed: true, LastSequence: 12, Binary: false, FrameSequence: true), """{"type":"connected","session_id":"s1","resumed":true,"last_sequence":12,"binary":false,"frame_sequence":true}""" },
        { new StatusMessage("task_1", "queued", 0, null, "r1", null, null), """{"type":"status","task_id":"task_1","status":"queued","progress":0,"error":null,"request_id":"r1"}""" },
        { new StatusMessage("task_1", "processing", 0, null, null, "c1", 3), """{"type":"status","task_id":"task_1","status":"processing","progress":0,"error":null,"context_id":"c1","sequence":3}""" },
        { new StatusMessage("task_1", "completed", 1, null, "r1", "c1", 9, DurationMs: 1160), """{"type":"status","task_id":"task_1","status":"completed","progress":1,"error":null,"request_id":"r1","context_id":"c1","sequence":9,"duration_ms":1160}""" },
        { new StatusMessage("task_1", "error", 0, new ErrorBody("busy", "Queues are full."), "r1", null, null) { RetryAfter = 2 }, """{"type":"status","task_id":"task_1","status":"error","progress":0,"error":{"code":"busy","message":"Queues are full."},"request_id":"r1","retry_after":2}""" },
        { new TimestampsMessage("task_1", [new WordTiming("Hola", 0, 310), new WordTiming("mundo", 310, 720)], null, "c1", 4), """{"type":"timestamps","task_id":"task_1","words":[{"word":"Hola","start_ms":0,"end_ms":310},{"word":"mundo","start_ms":310,"end_ms":720}],"context_id":"c1","sequence":4}""" },
        { new AudioMessage("task_1", "AAEC", "r1", null, 5, 0.25), """{"type":"audio","task_id":"task_1","data":"AAEC","request_id":"r1","sequence":5,"progress":0.25}""" },
        { new ContextEndMessage("c1", "r1", 10), """{"type":"context_end","context_id":"c1","request_id":"r1","sequence":10}""" },
        { new InterruptedMessage(["task_1", "task_2"], "barge_in", null, 7), """{"type":"interrupted","task_ids":["task_1","task_2"],"reason":"barge_in","last_sequence":7}""" },
        { new InterruptedMessage([], null, "c1", 0), """{"type":"interrupted","task_ids":[],"context_id":"c1","last_sequence":0}""" },
        { new ErrorMessage("unknown_message_type", "Unknown message type 'dance'.", "r1", "type"), """{"type":"error","code":"unknown_message_type","message":"Unknown message type \u0027dance\u0027.","request_id":"r1","field":"type"}""" },
        { new ErrorMessage("invalid_json", "The message is not valid JSON.", null), """{"type":"error","code":"invalid_json","message":"The message is not valid JSON."}""" },
        { new PongMessage(42), """{"type":"pong","last_sequence":42}""" },
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void Server_message_has_its_documented_wire_shape(object message, string json)
    {
        Assert.Equal(json, JsonSerializer.Serialize(message, message.GetType(), ProtocolJsonContext.Default.Options));
    }
}
