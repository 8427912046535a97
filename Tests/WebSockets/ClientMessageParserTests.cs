using System.Text;
using MitTts.Gateway.WebSockets;

namespace MitTts.Tests.WebSockets;

/// <summary>Client messages read into their records, <c>type</c> wherever it stands; bad ones answered with the protocol's error.</summary>
public sealed class ClientMessageParserTests
{
    private const string Types = "connect, synthesize, text, flush, end, interrupt or ping";

    [Fact]
    public void Connect_is_read_with_its_resume_point()
    {
        var connect = Assert.IsType<ConnectMessage>(Parse("""{"type":"connect","session_id":"user123","auth_token":"t","binary":false,"last_sequence":1234}"""));
        Assert.Equal(new ConnectMessage("user123", "t", false, 1234), connect);
        Assert.Equal(new ConnectMessage(null, null, null, null, FrameSequence: true), Parse("""{"type":"connect","frame_sequence":true}"""));
    }

    [Fact]
    public void Synthesize_is_read_with_every_field()
    {
        var message = Parse("""
            {"type":"synthesize","text":"Hola mundo","voice_id":"es-female-1","format":"wav","priority":"critical","stream":false,
             "request_id":"r1","timestamps":true,"speed":1.5,"pitch":0.9,"sample_rate":16000,"bitrate":64}
            """);
        Assert.Equal(new SynthesizeMessage("Hola mundo", "es-female-1", "wav", "critical", false, "r1", true, 1.5, 0.9, 16000, 64), message);
    }

    [Fact]
    public void Text_flush_end_interrupt_and_ping_are_read_into_their_own_records()
    {
        Assert.Equal(new TextMessage("c1", "Hello ", "en-male-1", "pcm", null, "r2", null, null, null, null, null),
            Parse("""{"type":"text","context_id":"c1","text":"Hello ","voice_id":"en-male-1","format":"pcm","request_id":"r2"}"""));
        Assert.Equal(new FlushMessage("c1"), Parse("""{"type":"flush","context_id":"c1"}"""));
        Assert.Equal(new EndMessage("c1"), Parse("""{"type":"end","context_id":"c1"}"""));
        Assert.Equal(new InterruptMessage("barge_in", null, "c1"), Parse("""{"type":"interrupt","reason":"barge_in","context_id":"c1"}"""));
        Assert.IsType<PingMessage>(Parse("""{"type":"ping"}"""));
    }

    [Theory]
    [InlineData("""{"text":"hi","voice_id":"en-male-1","type":"synthesize"}""")]
    [InlineData("""{"text":"hi","type":"synthesize","voice_id":"en-male-1"}""")]
    [InlineData("""{ "text" : "hi" , "voice_id" : "en-male-1" , "type" : "synthesize" , "extra" : {"type":"ping","deep":[1,{"a":2}]} }""")]
    public void Type_may_stand_anywhere_and_unknown_fields_are_ignored(string json)
    {
        var synthesize = Assert.IsType<SynthesizeMessage>(Parse(json));
        Assert.Equal("hi", synthesize.Text);
        Assert.Equal("en-male-1", synthesize.VoiceId);
    }

    [Fact]
    public void Numbers_may_come_as_strings_and_names_in_any_case_as_in_the_rest_api()
    {
        var synthesize = Assert.IsType<SynthesizeMessage>(Parse("""{"type":"synthesize","Text":"hi","speed":"1.5","sample_rate":"8000"}"""));
        Assert.Equal(("hi", 1.5, 8000), (synthesize.Text, synthesize.Speed, synthesize.SampleRate));
    }

    [Theory]
    [InlineData("""{"type":"end","context_id":"c1","request_id":"r9"}""", "r9")]
    [InlineData("""{"request_id":"r9","type":"flush","context_id":"c1"}""", "r9")]
    [InlineData("""{"type":"flush","context_id":"c1","request_id":5}""", null)]
    [InlineData("""{"type":"ping","request_id":5}""", null)]
    public void A_string_request_id_of_any_message_is_kept_to_echo_on_errors(string json, string? requestId)
    {
        Assert.True(ClientMessageParser.TryParse(Encoding.UTF8.GetBytes(json), out var received, out var error), error?.Message);
        Assert.Equal(requestId, received.RequestId);
    }

    public static TheoryData<string, ErrorMessage> BadMessages => new()
    {
        { "not json", new("invalid_json", "Messages must be JSON objects with a \"type\".", null) },
        { "[1,2,3]", new("invalid_json", "Messages must be JSON objects with a \"type\".", null) },
        { "{\"type\": ", new("invalid_json", "Messages must be JSON objects with a \"type\".", null) },
        { "null", new("invalid_json", "Messages must be JSON objects with a \"type\".", null) },
        { "\"just a string\"", new("invalid_json", "Messages must be JSON objects with a \"type\".", null) },
        { "{}", new("missing_type", $"Every message needs a \"type\": {Types}.", null, "type") },
        { """{"request_id":"r9"}""", new("missing_type", $"Every message needs a \"type\": {Types}.", "r9", "type") },
        { """{"type":5,"request_id":"r9"}""", new("missing_type", $"Every message needs a \"type\": {Types}.", "r9", "type") },
        { """{"Type":"ping"}""", new("missing_type", $"Every message needs a \"type\": {Types}.", null, "type") },
        { """{"type":"dance","request_id":"r9"}""", new("unknown_message_type", $"Unknown message type 'dance': use {Types}.", "r9", "type") },
        { """{"type":"Synthesize"}""", new("unknown_message_type", $"Unknown message type 'Synthesize': use {Types}.", null, "type") },
        { """{"type":"synthesize","type":"dance"}""", new("unknown_message_type", $"Unknown message type 'dance': use {Types}.", null, "type") },
        { """{"type":"synthesize","text":42,"request_id":"r9"}""", new("invalid_json", "Field 'text' has the wrong type.", "r9", "text") },
        { """{"request_id":"r9","text":42,"type":"synthesize"}""", new("invalid_json", "Field 'text' has the wrong type.", "r9", "text") },
        { """{"type":"synthesize","text":"hi","stream":"yes"}""", new("invalid_json", "Field 'stream' has the wrong type.", null, "stream") },
        { """{"type":"synthesize","text":"hi","request_id":5}""", new("invalid_json", "Field 'request_id' has the wrong type.", null, "request_id") },
        { """{"type":"synthesize","text":"hi","sample_rate":16000.5}""", new("invalid_json", "Field 'sample_rate' has the wrong type.", null, "sample_rate") },
        { """{"type":"synthesize","text":"hi"} trailing""", new("invalid_json", "The message is not valid JSON.", null) },
        { """{"type":"text","context_id":7}""", new("invalid_json", "Field 'context_id' has the wrong type.", null, "context_id") },
        { """{"type":"text","context_id":"c","text":"hi","timestamps":1}""", new("invalid_json", "Field 'timestamps' has the wrong type.", null, "timestamps") },
        { """{"type":"connect","binary":"yes"}""", new("invalid_json", "Field 'binary' has the wrong type.", null, "binary") },
        { """{"type":"connect","last_sequence":"x"}""", new("invalid_json", "Field 'last_sequence' has the wrong type.", null, "last_sequence") },
        { """{"type":"connect","frame_sequence":1}""", new("invalid_json", "Field 'frame_sequence' has the wrong type.", null, "frame_sequence") },
        { """{"type":"interrupt","task_id":3}""", new("invalid_json", "Field 'task_id' has the wrong type.", null, "task_id") },
        { """{"type":"interrupt","reason":{"a":1}}""", new("invalid_json", "Field 'reason' has the wrong type.", null, "reason") },
        { """{"type":"flush","context_id":5,"request_id":"r9"}""", new("invalid_json", "Field 'context_id' has the wrong type.", "r9", "context_id") },
    };

    [Theory]
    [MemberData(nameof(BadMessages))]
    public void A_bad_message_is_answered_with_its_error(string json, ErrorMessage expected)
    {
        Assert.False(ClientMessageParser.TryParse(Encoding.UTF8.GetBytes(json), out _, out var error));
        Assert.Equal(expected, error);
    }

    private static ClientMessage Parse(string json)
    {
        Assert.True(ClientMessageParser.TryParse(Encoding.UTF8.GetBytes(json), out var received, out var error), error?.Message);
        return received.Message;
    }
}
