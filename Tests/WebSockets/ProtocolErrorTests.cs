using System.Net.WebSockets;
using MitTts.Tests.Api;

namespace MitTts.Tests.WebSockets;

/// <summary>Bad input gets an error with a stable code and the socket stays usable; only protocol abuse closes it.</summary>
[Collection(GatewayCollection.Name)]
public sealed class ProtocolErrorTests(GatewayFixture gateway)
{
    public static TheoryData<string, string> BadMessages => new()
    {
        { "not json", "invalid_json" },
        { "[1,2,3]", "invalid_json" },
        { "{\"type\": ", "invalid_json" },
        { "{}", "missing_type" },
        { "{\"type\":\"dance\"}", "unknown_message_type" },
        { "{\"type\":\"synthesize\"}", "text_required" },
        { "{\"type\":\"synthesize\",\"text\":\"\"}", "text_empty" },
        { "{\"type\":\"synthesize\",\"text\":\"hi\",\"voice_id\":\"xx-robot-9\"}", "voice_not_found" },
        { "{\"type\":\"synthesize\",\"text\":\"hi\",\"voice_id\":\"../etc\"}", "invalid_voice_id" },
        { "{\"type\":\"synthesize\",\"text\":\"hi\",\"format\":\"aiff\"}", "unsupported_format" },
        { "{\"type\":\"synthesize\",\"text\":\"hi\",\"priority\":\"urgent\"}", "invalid_priority" },
        { "{\"type\":\"synthesize\",\"text\":\"hi\",\"speed\":9}", "speed_out_of_range" },
        { "{\"type\":\"synthesize\",\"text\":\"hi\",\"pitch\":\"NaN\"}", "pitch_out_of_range" },
        { "{\"type\":\"text\",\"context_id\":\"c\",\"text\":\"hi\",\"speed\":\"NaN\"}", "speed_out_of_range" },
        { "{\"type\":\"synthesize\",\"text\":\"hi\",\"sample_rate\":12345}", "invalid_sample_rate" },
        { "{\"type\":\"synthesize\",\"text\":42}", "invalid_json" },
        { "{\"type\":\"synthesize\",\"text\":\"hi\",\"stream\":\"yes\"}", "invalid_json" },
        { "{\"type\":\"text\",\"text\":\"hi\"}", "context_id_required" },
        { "{\"type\":\"text\",\"context_id\":\"c\"}", "text_required" },
        { "{\"type\":\"text\",\"context_id\":\"c\",\"text\":\"hi\",\"voice_id\":\"xx-robot-9\"}", "voice_not_found" },
        { "{\"type\":\"flush\"}", "context_id_required" },
        { "{\"type\":\"end\",\"context_id\":\"never-opened\"}", "context_not_found" },
        { "{\"type\":\"connect\",\"session_id\":\"has spaces\"}", "invalid_session_id" },
        { "{\"type\":\"connect\",\"last_sequence\":-5}", "invalid_last_sequence" },
    };

    [Theory]
    [MemberData(nameof(BadMessages))]
    public async Task Bad_message_gets_an_error_code_and_the_socket_stays_open(string message, string code)
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "connect" });
        await client.Receive();

        await client.SendText(message.Replace("\"type\":\"synthesize\"", "\"type\":\"synthesize\",\"request_id\":\"bad-1\"", StringComparison.Ordinal));
        var error = await client.ReceiveUntil(m => m.Type == "error");
        Assert.Equal(code, error[^1].Str("code"));
        Assert.False(string.IsNullOrWhiteSpace(error[^1].Str("message")));
        if (message.Contains("synthesize", StringComparison.Ordinal) && code != "invalid_json")
        {
            Assert.Equal("bad-1", error[^1].Str("request_id"));
        }

        await AssertStillServing(client);
    }

    [Fact]
    public async Task Text_longer_than_the_limit_is_refused()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "synthesize", text = new string('a', GatewayFixture.MaxTextLength + 1) });
        Assert.Equal("text_too_long", (await client.ReceiveUntil(m => m.Type == "error"))[^1].Str("code"));
        await client.Send(new { type = "text", context_id = "c", text = new string('a', GatewayFixture.MaxTextLength + 1) });
        Assert.Equal("text_too_long", (await client.ReceiveUntil(m => m.Type == "error"))[^1].Str("code"));
        await AssertStillServing(client);
    }

    [Fact]
    public async Task Errors_about_a_text_context_name_it_so_a_client_with_several_open_knows_which()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "text", context_id = "fast", text = "Hello ", speed = 9 });
        var refused = (await client.ReceiveUntil(m => m.Type == "error"))[^1];
        await client.Send(new { type = "flush", context_id = "never-opened" });
        var unknown = (await client.ReceiveUntil(m => m.Type == "error"))[^1];
        // Still speaking when the late text comes (once its context_end is out, the id may open a new context).
        await client.Send(new { type = "text", context_id = "done", text = string.Join(' ', Enumerable.Repeat("This context keeps speaking for a while.", 100)) });
        await client.Send(new { type = "end", context_id = "done" });
        await client.Send(new { type = "text", context_id = "done", text = "Too late." });
        var closed = (await client.ReceiveUntil(m => m.Type == "error"))[^1];
        await client.Send(new { type = "flush", context_id = "done" });
        var closedFlush = (await client.ReceiveUntil(m => m.Type == "error"))[^1];
        await client.Send(new { type = "end", context_id = "done" });
        var closedEnd = (await client.ReceiveUntil(m => m.Type == "error"))[^1];
        await client.Send(new { type = "interrupt" });

        Assert.Equal(("speed_out_of_range", "fast"), (refused.Str("code"), refused.Str("context_id")));
        Assert.Equal(("context_not_found", "never-opened"), (unknown.Str("code"), unknown.Str("context_id")));
        Assert.Equal(("context_closed", "done"), (closed.Str("code"), closed.Str("context_id")));
        // A flush or a second end of a closed context says the same as its late text, not that the context is unknown.
        Assert.Equal(("context_closed", "done"), (closedFlush.Str("code"), closedFlush.Str("context_id")));
        Assert.Equal(("context_closed", "done"), (closedEnd.Str("code"), closedEnd.Str("context_id")));
        await AssertStillServing(client);
    }

    [Fact]
    public async Task Connecting_twice_on_one_socket_is_an_error_not_a_new_session()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "connect", session_id = "twice-a" });
        await client.Receive();
        await client.Send(new { type = "connect", session_id = "twice-b" });
        Assert.Equal("already_connected", (await client.ReceiveUntil(m => m.Type == "error"))[^1].Str("code"));
        await AssertStillServing(client);
    }

    [Fact]
    public async Task Interrupt_with_nothing_playing_is_acknowledged_with_no_tasks()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "interrupt" });
        var ack = await client.ReceiveUntil(m => m.Type == "interrupted");
        Assert.Empty(ack[^1].Json!["task_ids"]!.AsArray());
        await client.Send(new { type = "interrupt", task_id = "task_unknown" });
        await client.ReceiveUntil(m => m.Type == "interrupted");
        await AssertStillServing(client);
    }

    [Fact]
    public async Task A_message_over_one_mebibyte_closes_the_socket_with_1009()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.SendText("{\"type\":\"synthesize\",\"text\":\"" + new string('a', (1024 * 1024) + 10) + "\"}");
        Assert.Null(await client.Receive());
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, client.CloseStatus);
    }

    [Fact]
    public async Task A_binary_message_is_read_as_its_json_and_one_that_is_not_json_gets_an_error_on_an_open_socket()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);

        // As Python's websockets sends json.dumps(...).encode(): the same message in a binary frame.
        var request = System.Text.Encoding.UTF8.GetBytes("{\"type\":\"synthesize\",\"text\":\"Sent as bytes.\",\"voice_id\":\"en-female-1\",\"format\":\"pcm\"}");
        await client.Socket.SendAsync(request, WebSocketMessageType.Binary, true, CancellationToken.None);
        Assert.Equal("connected", (await client.Receive())!.Type);
        var taskId = (await client.Receive())!.Str("task_id")!;

        // Bytes that are no JSON (audio, say) while the task is under way: an error, and the task goes on to its end. The error
        // answers the frame and the task's messages come from its channel, so either may arrive first: read until both have.
        await client.Socket.SendAsync(new byte[] { 1, 2, 3, 255 }, WebSocketMessageType.Binary, true, CancellationToken.None);
        var messages = await client.ReceiveUntil(m => m.Type == "error");
        if (!messages.Exists(m => ProtocolClient.IsEnd(m, taskId)))
        {
            messages.AddRange(await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId)));
        }

        Assert.Equal("invalid_json", Assert.Single(messages, m => m.Type == "error").Str("code"));
        Assert.Equal("completed", Assert.Single(messages, m => ProtocolClient.IsEnd(m, taskId)).Str("status"));
        Assert.Contains(messages, m => m.IsAudio);

        await client.Send(new { type = "ping" });
        Assert.Equal("pong", (await client.Receive())!.Type);
        Assert.Null(client.CloseStatus);
    }

    [Fact]
    public async Task A_flood_of_messages_closes_the_socket_with_1008()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        var flood = Task.Run(async () =>
        {
            try
            {
                for (var i = 0; i < 5000; i++)
                {
                    await client.SendText("{\"type\":\"ping\"}");
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The server closed the socket mid-flood, as it should.
            }
        });
        var messages = await client.ReceiveUntil(m => false, TimeSpan.FromSeconds(20)).ContinueWith(t => t, TaskScheduler.Default);
        await flood;
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, client.CloseStatus);
    }

    [Fact]
    public async Task Plain_http_to_ws_is_told_to_upgrade()
    {
        var response = await gateway.Client.GetAsync("/ws");
        Assert.Equal(System.Net.HttpStatusCode.UpgradeRequired, response.StatusCode);
        Assert.Contains("websocket_required", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("websocket", Assert.Single(response.Headers.Upgrade).Name);
        Assert.Contains($"ws://{gateway.BaseAddress.Authority}/ws", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task AssertStillServing(ProtocolClient client)
    {
        await client.Send(new { type = "ping" });
        Assert.Equal("pong", (await client.ReceiveUntil(m => m.Type == "pong"))[^1].Type);
        await client.Send(new { type = "synthesize", text = "Still here.", voice_id = "en-male-1", format = "pcm" });
        var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        Assert.Equal("completed", (await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId)))[^1].Str("status"));
    }
}
