using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MitTts.Tests.Api;
using MitTts.Tests.Support;

namespace MitTts.Tests.WebSockets;

/// <summary>A gateway of its own, with a one-second resume window and separate HTTP and WebSocket ports.</summary>
public sealed class SessionLifetimeTests
{
    private static readonly string s_longText = string.Join(" ", Enumerable.Repeat("The quick brown fox jumps over the lazy dog, and then it runs far away into the forest.", 55));

    [Fact]
    public async Task A_disconnected_session_has_its_work_cancelled_after_the_resume_window()
    {
        var http = FreePort.Next();
        var ws = FreePort.Next();
        await using var gateway = await RunningGateway.Start(
            "--websocket:resume_window_seconds=1",
            $"--server:http_port={http.ToString(CultureInfo.InvariantCulture)}",
            $"--server:ws_port={ws.ToString(CultureInfo.InvariantCulture)}");
        Assert.Equal(2, gateway.Addresses.Count);
        Assert.Equal(ws, gateway.Addresses[1].Port);

        var taskIds = new List<string>();
        var client = await ProtocolClient.Connect(gateway.Addresses[1]);
        for (var i = 0; i < 8; i++)
        {
            await client.Send(new { type = "synthesize", text = s_longText, voice_id = "en-male-1", format = "pcm", priority = "normal" });
            taskIds.Add((await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!);
        }

        client.Socket.Abort();
        await client.DisposeAsync();

        // Nothing listens: after the window (and the time it takes the server to notice), unfinished tasks are cancelled, none left running.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        List<string> statuses;
        do
        {
            await Task.Delay(250);
            statuses = [];
            foreach (var taskId in taskIds)
            {
                var task = await gateway.Client.GetFromJsonAsync<JsonObject>($"/api/v1/tasks/{taskId}");
                statuses.Add(task!["status"]!.GetValue<string>());
            }
        }
        while (statuses.Any(s => s is "queued" or "processing") && DateTime.UtcNow < deadline);

        Assert.DoesNotContain(statuses, s => s is "queued" or "processing");
        Assert.Contains("cancelled", statuses);
    }

    [Fact]
    public async Task Sockets_that_connected_explicitly_and_went_away_end_their_connections_and_their_sessions_are_abandoned()
    {
        await using var gateway = await RunningGateway.Start("--websocket:resume_window_seconds=1");
        var baseline = await Connections(gateway);
        var taskIds = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var client = await ProtocolClient.Connect(gateway.BaseAddress);
            await client.Send(new { type = "connect", session_id = $"gone-{i}-{Guid.NewGuid():N}" });
            await client.Receive();
            await client.Send(new { type = "synthesize", text = s_longText, voice_id = "en-male-1", format = "pcm", priority = "normal" });
            taskIds.Add((await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!);
            if (i == 0)
            {
                client.Socket.Abort();
            }

            await client.DisposeAsync();
        }

        // Each socket's handler ends (its Kestrel connection with it), and after the resume window its work is cancelled.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        int open;
        List<string> statuses;
        do
        {
            await Task.Delay(250);
            open = await Connections(gateway);
            statuses = [];
            foreach (var taskId in taskIds)
            {
                var task = await gateway.Client.GetFromJsonAsync<JsonObject>($"/api/v1/tasks/{taskId}");
                statuses.Add(task!["status"]!.GetValue<string>());
            }
        }
        while ((open > baseline || statuses.Any(s => s is "queued" or "processing")) && DateTime.UtcNow < deadline);

        Assert.Equal(baseline, open);
        Assert.DoesNotContain(statuses, s => s is "queued" or "processing");
    }

    [Fact]
    public async Task A_resume_after_the_window_passed_hears_resume_expired_not_a_silent_restart()
    {
        await using var gateway = await RunningGateway.Start("--websocket:resume_window_seconds=1");
        var sessionId = "expired-" + Guid.NewGuid().ToString("N");
        var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "connect", session_id = sessionId });
        await client.Receive();
        string taskId = null!;
        for (var i = 0; i < 8; i++)
        {
            // Enough work that the last task still waits when the window ends.
            await client.Send(new { type = "synthesize", text = s_longText, voice_id = "en-male-1", format = "pcm" });
            taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        }

        var frames = 0;
        var last = (await client.ReceiveUntil(m => m.IsAudio && ++frames == 2)).Last(m => m.Seq is not null).Seq!.Value;
        client.Socket.Abort();
        await client.DisposeAsync();

        // The window passes with nobody listening: the session's work is cancelled and its stream forgotten.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        string status;
        do
        {
            await Task.Delay(250);
            status = (await gateway.Client.GetFromJsonAsync<JsonObject>($"/api/v1/tasks/{taskId}"))!["status"]!.GetValue<string>();
        }
        while (status is "queued" or "processing" && DateTime.UtcNow < deadline);
        Assert.Equal("cancelled", status);

        await using var back = await ProtocolClient.Connect(gateway.BaseAddress);
        await back.Send(new { type = "connect", session_id = sessionId, last_sequence = last });
        var connected = (await back.Receive())!;
        Assert.Equal("connected", connected.Type);
        Assert.False(connected.Json!["resumed"]!.GetValue<bool>());
        var error = (await back.Receive())!;
        Assert.Equal(("error", "resume_expired"), (error.Type, error.Str("code")));

        // The session goes on: a new task streams, numbered on from what the connected message said.
        await back.Send(new { type = "synthesize", text = "Still here.", voice_id = "en-male-1", format = "pcm" });
        var next = (await back.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        var rest = await back.ReceiveUntil(m => ProtocolClient.IsEnd(m, next));
        Assert.Equal("completed", rest[^1].Str("status"));
        Assert.Equal(connected.Json!["last_sequence"]!.GetValue<long>() + 1, rest.First(m => m.Seq is not null).Seq);
    }

    [Fact]
    public async Task A_resume_point_past_a_sessions_stream_is_no_resume_and_hears_resume_expired()
    {
        await using var gateway = await RunningGateway.Start();
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "connect", session_id = "never-" + Guid.NewGuid().ToString("N"), last_sequence = 99999 });
        var connected = (await client.Receive())!;
        Assert.Equal((false, 0L), (connected.Json!["resumed"]!.GetValue<bool>(), connected.Json["last_sequence"]!.GetValue<long>()));
        var error = (await client.Receive())!;
        Assert.Equal("resume_expired", error.Str("code"));
        Assert.Contains("99999", error.Str("message"), StringComparison.Ordinal);

        // The same on a session with a stream: a point past its present is no resume (the socket starts at the present).
        var sessionId = "live-" + Guid.NewGuid().ToString("N");
        await using (var first = await ProtocolClient.Connect(gateway.BaseAddress))
        {
            await first.Send(new { type = "connect", session_id = sessionId });
            await first.Send(new { type = "synthesize", text = "Algo que ya sonó.", voice_id = "es-female-1", format = "pcm" });
            await first.ReceiveUntil(m => m.Str("status") == "completed");
        }

        await using var later = await ProtocolClient.Connect(gateway.BaseAddress);
        await later.Send(new { type = "connect", session_id = sessionId, last_sequence = 99999 });
        var present = (await later.Receive())!;
        Assert.False(present.Json!["resumed"]!.GetValue<bool>());
        Assert.True(present.Json["last_sequence"]!.GetValue<long>() is > 0 and < 99999);
        Assert.Equal("resume_expired", (await later.Receive())!.Str("code"));
    }

    private static async Task<int> Connections(RunningGateway gateway) =>
        (await gateway.Client.GetFromJsonAsync<JsonObject>("/api/v1/status"))!["server"]!["connections"]!.GetValue<int>();

    [Fact]
    public async Task The_http_port_also_serves_the_websocket_protocol()
    {
        var http = FreePort.Next();
        await using var gateway = await RunningGateway.Start(
            $"--server:http_port={http.ToString(CultureInfo.InvariantCulture)}",
            $"--server:ws_port={FreePort.Next().ToString(CultureInfo.InvariantCulture)}");
        await using var client = await ProtocolClient.Connect(gateway.Addresses[0]);
        Assert.Equal(http, gateway.Addresses[0].Port);
        await client.Send(new { type = "synthesize", text = "One port for the load balancer.", voice_id = "en-male-1", format = "pcm" });
        var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        Assert.Equal("completed", (await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId)))[^1].Str("status"));
    }
}
