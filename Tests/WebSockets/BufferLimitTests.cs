using MitTts.Tests.Api;

namespace MitTts.Tests.WebSockets;

/// <summary>What a session keeps for a resume is bounded, per session and per silo; a resume beyond it hears so, never a silent gap.</summary>
public sealed class BufferLimitTests
{
    // About twelve seconds of speech: some 500 KB of 22050 Hz PCM.
    private static readonly string s_answer = string.Join(" ", Enumerable.Repeat("A voice agent answers in short sentences like this one.", 4));

    [Fact]
    public async Task A_resume_beyond_the_kept_buffer_hears_resume_expired_and_the_stream_goes_on()
    {
        await using var gateway = await RunningGateway.Start("--websocket:resume_buffer_bytes=1");
        var sessionId = "kept-" + Guid.NewGuid().ToString("N");
        long firstSequence;
        await using (var first = await ProtocolClient.Connect(gateway.BaseAddress))
        {
            await first.Send(new { type = "connect", session_id = sessionId });
            await first.Receive();
            var heard = await Speak(first, s_answer);
            firstSequence = heard.First(m => m.Seq is not null).Seq!.Value;

            // A second answer's audio pushes the first one's (read, and past a one-byte resume buffer) out.
            await Speak(first, "And a second one.");
            first.Socket.Abort();
        }

        await using var second = await ProtocolClient.Connect(gateway.BaseAddress);
        await second.Send(new { type = "connect", session_id = sessionId, last_sequence = firstSequence });
        var connected = await second.Receive();
        var error = (await second.ReceiveUntil(m => m.Type == "error"))[^1];
        var next = await Speak(second, "The session still works.");

        Assert.Equal("connected", connected!.Type);
        Assert.Equal("resume_expired", error.Str("code"));
        Assert.Contains($"Events {firstSequence + 1} to", error.Str("message"), StringComparison.Ordinal);
        Assert.Equal("completed", next[^1].Str("status"));
    }

    [Fact]
    public async Task Past_the_silo_cap_the_least_recently_active_sessions_buffers_go_first()
    {
        await using var gateway = await RunningGateway.Start("--websocket:max_buffered_bytes_per_silo=700000", "--tts:cache_size=0");
        var idleSession = "idle-" + Guid.NewGuid().ToString("N");
        long idleFirst;
        await using (var idle = await ProtocolClient.Connect(gateway.BaseAddress))
        {
            await idle.Send(new { type = "connect", session_id = idleSession });
            await idle.Receive();
            idleFirst = (await Speak(idle, s_answer)).First(m => m.Seq is not null).Seq!.Value;
            idle.Socket.Abort();
        }

        // A second session's answer takes the silo past its cap: the idle session (least recently active) drops its buffer, the
        // active one hears every event of its answer.
        await using var active = await ProtocolClient.Connect(gateway.BaseAddress);
        await active.Send(new { type = "connect" });
        await active.Receive();
        var heard = await Speak(active, s_answer);
        var status = await (await gateway.Client.GetAsync("/api/v1/status")).Json();
        await using var back = await ProtocolClient.Connect(gateway.BaseAddress);
        await back.Send(new { type = "connect", session_id = idleSession, last_sequence = idleFirst });
        await back.Receive();
        var error = (await back.ReceiveUntil(m => m.Type == "error"))[^1];

        var sequences = heard.Where(m => m.Seq is not null).Select(m => m.Seq!.Value).ToList();
        Assert.Equal(Enumerable.Range((int)sequences[0], sequences.Count).Select(i => (long)i), sequences);
        Assert.True(status.GetProperty("channel_buffers").GetProperty("shed_rounds").GetInt64() >= 1);
        Assert.Equal("resume_expired", error.Str("code"));
    }

    [Fact]
    public async Task A_session_past_the_silos_cap_is_refused_with_too_many_sessions_and_the_others_go_on()
    {
        await using var gateway = await RunningGateway.Start("--websocket:max_sessions_per_silo=1");
        await using var first = await ProtocolClient.Connect(gateway.BaseAddress);
        await first.Send(new { type = "connect" });
        var connected = await first.Receive();

        await using var second = await ProtocolClient.Connect(gateway.BaseAddress);
        await second.Send(new { type = "connect" });
        var refused = await second.Receive();
        var closed = await second.Receive();
        var answer = await Speak(first, "Still here.");

        Assert.Equal("connected", connected!.Type);
        Assert.Equal(("error", "too_many_sessions"), (refused!.Type, refused.Str("code")));
        Assert.Null(closed);
        Assert.Equal((System.Net.WebSockets.WebSocketCloseStatus)1013, second.CloseStatus);
        Assert.Equal("completed", answer[^1].Str("status"));
    }

    /// <summary>Streams one answer as PCM and returns what the socket received up to its end.</summary>
    private static async Task<List<ServerMessage>> Speak(ProtocolClient client, string text)
    {
        await client.Send(new { type = "synthesize", text, voice_id = "en-male-1", format = "pcm" });
        var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        return await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));
    }
}
