using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MitTts.Tests.Api;

namespace MitTts.Tests.WebSockets;

/// <summary>Barge-in and resuming: what a voice agent relies on when the user talks over it or the network drops.</summary>
[Collection(GatewayCollection.Name)]
public sealed class InterruptAndResumeTests(GatewayFixture gateway)
{
    // About five minutes of speech per task: the server synthesizes it in well under a second, so a test that must catch
    // synthesis still running queues several of them.
    private static readonly string s_longText = string.Join(" ", Enumerable.Repeat("The quick brown fox jumps over the lazy dog, and then it runs far away into the forest.", 55));

    [Fact]
    public async Task Interrupt_mid_stream_acknowledges_stops_every_task_and_no_frame_of_them_follows()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        var before = await Cancellations();
        var taskIds = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            await client.Send(new { type = "synthesize", text = s_longText, voice_id = "en-male-1", format = "pcm", request_id = $"long-{i}" });
            taskIds.Add((await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!);
        }

        await client.ReceiveUntil(m => m.IsAudio);
        await client.Send(new { type = "interrupt", reason = "user_stop" });
        var untilAck = await client.ReceiveUntil(m => m.Type == "interrupted");
        var ack = untilAck[^1];
        Assert.Equal("user_stop", ack.Str("reason"));
        Assert.Equal(taskIds.Order(), ack.Json!["task_ids"]!.AsArray().Select(n => n!.GetValue<string>()).Order());

        // Each task ends on the socket with one `cancelled` status, right behind the acknowledgement, and nothing else of it follows.
        var after = await client.Drain(TimeSpan.FromMilliseconds(700));
        Assert.DoesNotContain(after, m => m.IsAudio);
        var endings = after.Where(m => taskIds.Contains(m.Str("task_id") ?? "")).ToList();
        Assert.Equal(taskIds.Order(), endings.Select(m => m.Str("task_id")!).Order());
        Assert.All(endings, m => Assert.Equal(("status", "cancelled"), (m.Type, m.Str("status"))));
        Assert.Equal(taskIds.Select((id, i) => (id, $"long-{i}")).Order(), endings.Select(m => (m.Str("task_id")!, m.Str("request_id")!)).Order());
        Assert.Equal(endings, after.Take(endings.Count));
        var heard = untilAck.Where(m => m.IsAudio).Sum(m => m.Audio!.Length) / 2.0 / 22050;
        Assert.True(heard < 300, $"only part of the first task was streamed ({heard:F0} s)");

        // The synthesis behind it stopped too: tasks not yet synthesized are cancelled, not completed in the background,
        // and the synthesizer counted the cancellations.
        var statuses = new List<string>();
        foreach (var taskId in taskIds)
        {
            var task = await gateway.Client.GetFromJsonAsync<JsonObject>($"/api/v1/tasks/{taskId}");
            statuses.Add(task!["status"]!.GetValue<string>());
        }

        Assert.DoesNotContain(statuses, s => s is "queued" or "processing");
        Assert.True(statuses.Count(s => s == "cancelled") >= 4, string.Join(", ", statuses));

        // The task records its cancel as soon as the synthesizer is told; the synthesizer counts it when the engine has stopped.
        var counted = 0L;
        for (var i = 0; i < 40 && counted < statuses.Count(s => s == "cancelled"); i++)
        {
            counted = await Cancellations() - before;
            await Task.Delay(50);
        }

        Assert.True(counted >= statuses.Count(s => s == "cancelled"), $"{counted} cancellations counted");

        // The socket is still good for the next turn.
        await client.Send(new { type = "synthesize", text = "Next turn.", voice_id = "en-male-1", format = "pcm" });
        var next = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        var done = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, next));
        Assert.Equal("completed", done[^1].Str("status"));
    }

    [Fact]
    public async Task A_task_read_over_rest_right_after_the_interrupt_acknowledgement_says_cancelled()
    {
        // A voice agent that barges in and then reads the task (to log it, to bill it) must not see it still processing: the playing
        // task and the one waiting behind it both say cancelled at once. Ten rounds, since the report to the task is a race to lose.
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        for (var round = 0; round < 10; round++)
        {
            await client.Send(new { type = "synthesize", text = s_longText, voice_id = "en-male-1", format = "pcm", request_id = $"playing-{round}" });
            var playing = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
            await client.Send(new { type = "synthesize", text = s_longText, voice_id = "en-male-1", format = "pcm", request_id = $"waiting-{round}" });
            var waiting = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
            await client.ReceiveUntil(m => m.IsAudio);

            await client.Send(new { type = "interrupt", reason = "barge_in" });
            await client.ReceiveUntil(m => m.Type == "interrupted");
            foreach (var taskId in new[] { playing, waiting })
            {
                var task = await gateway.Client.GetFromJsonAsync<JsonObject>($"/api/v1/tasks/{taskId}");
                Assert.Equal("cancelled", task!["status"]!.GetValue<string>());
            }
        }
    }

    [Fact]
    public async Task A_streamed_task_cancelled_over_rest_ends_cancelled_on_its_socket_whether_playing_or_queued()
    {
        // An operator (or the agent's backend) cancels a session's tasks by id: the socket that waits for each task's end hears it.
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "synthesize", text = s_longText, voice_id = "en-male-1", format = "pcm", request_id = "playing" });
        var playing = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        await client.Send(new { type = "synthesize", text = s_longText, voice_id = "en-male-1", format = "pcm", request_id = "waiting" });
        var waiting = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        await client.ReceiveUntil(m => m.IsAudio);

        foreach (var taskId in new[] { waiting, playing })
        {
            using var cancel = await gateway.Client.DeleteAsync($"/api/v1/tasks/{taskId}");
            Assert.Equal(System.Net.HttpStatusCode.OK, cancel.StatusCode);
            var ended = (await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId), TimeSpan.FromSeconds(20)))[^1];
            Assert.Equal("cancelled", ended.Str("status"));
            Assert.Equal(taskId == playing ? "playing" : "waiting", ended.Str("request_id"));
            Assert.False(ended.Json!.ContainsKey("duration_ms"), "a stopped task's length is not known: no duration_ms, not 0");
        }

        // Nothing of either follows, and the session goes on.
        await client.Send(new { type = "synthesize", text = "Next turn.", voice_id = "en-male-1", format = "pcm" });
        var next = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        var rest = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, next));
        Assert.DoesNotContain(rest, m => m.Str("task_id") is { } id && (id == playing || id == waiting));
        Assert.Equal("completed", rest[^1].Str("status"));
    }

    [Fact]
    public async Task A_streamed_task_read_over_rest_as_soon_as_it_is_queued_is_found_and_its_progress_moves_until_it_completes()
    {
        // A dashboard polls a voice agent's task from the moment the socket says queued (which goes out before the channel has the task):
        // never a 404, and the progress moves (the channel reports no per-sentence progress to the task grain, so the read asks it).
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "synthesize", text = s_longText, voice_id = "en-male-1", format = "pcm", speed = 0.5 });
        var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        var ending = client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId), TimeSpan.FromSeconds(120));

        var readings = new List<(string Status, double Progress)>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (readings.Count == 0 || readings[^1].Status != "completed")
        {
            Assert.True(DateTime.UtcNow < deadline, string.Join(", ", readings));
            using var response = await gateway.Client.GetAsync($"/api/v1/tasks/{taskId}");
            Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode} {await response.Content.ReadAsStringAsync()} after {string.Join(", ", readings)}");
            var task = await response.Content.ReadFromJsonAsync<JsonObject>();
            readings.Add((task!["status"]!.GetValue<string>(), task["progress"]!.GetValue<double>()));
        }

        Assert.Equal("completed", (await ending)[^1].Str("status"));
        Assert.Contains(readings, r => r is { Status: "processing", Progress: > 0 and < 1 });
        Assert.Equal(1.0, readings[^1].Progress);
        for (var i = 1; i < readings.Count; i++)
        {
            Assert.True(readings[i].Progress >= readings[i - 1].Progress, string.Join(", ", readings));
        }
    }

    [Fact]
    public async Task A_streamed_task_interrupted_midway_keeps_its_progress_over_rest()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "synthesize", text = s_longText, voice_id = "en-male-1", format = "pcm", speed = 0.5 });
        var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        // Some way in (several sentences heard), without reading the task over REST, which would have kept its progress then.
        var heard = 0;
        await client.ReceiveUntil(m => (heard += m.Audio?.Length ?? 0) > 22050 * 2 * 20);

        await client.Send(new { type = "interrupt", reason = "user_stop" });
        var ended = (await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId)))[^1];
        var task = await gateway.Client.GetFromJsonAsync<JsonObject>($"/api/v1/tasks/{taskId}");

        Assert.Equal("cancelled", ended.Str("status"));
        Assert.Equal("cancelled", task!["status"]!.GetValue<string>());
        var told = ended.Json!["progress"]!.GetValue<double>();
        var kept = task["progress"]!.GetValue<double>();
        // The socket tells how far the audio it sent got; the record, how far the synthesis got: never less, and not 0.
        Assert.True(told > 0, $"the socket was told {told}");
        Assert.True(kept >= told && kept < 1, $"REST progress {kept}, the socket was told {told}");
    }

    private async Task<long> Cancellations()
    {
        var status = await gateway.Client.GetFromJsonAsync<JsonObject>("/api/v1/status");
        return status!["tts_engine"]!["devices"]!.AsArray().Sum(d => d!["cancellations"]!.GetValue<long>());
    }

    [Fact]
    public async Task Interrupt_of_one_task_leaves_the_others_playing()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "synthesize", text = s_longText, voice_id = "en-male-1", format = "pcm", request_id = "a" });
        var first = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        await client.Send(new { type = "synthesize", text = "Second task stays.", voice_id = "en-male-1", format = "pcm", request_id = "b" });
        var second = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;

        await client.Send(new { type = "interrupt", task_id = first });
        var messages = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, second));
        var ackIndex = messages.FindIndex(m => m.Type == "interrupted");
        Assert.True(ackIndex >= 0);
        Assert.Equal([first], messages[ackIndex].Json!["task_ids"]!.AsArray().Select(n => n!.GetValue<string>()));
        var ofFirst = Assert.Single(messages.Skip(ackIndex + 1), m => m.Str("task_id") == first);
        Assert.Equal(("cancelled", "a"), (ofFirst.Str("status"), ofFirst.Str("request_id")));
        Assert.Equal(ackIndex + 1, messages.IndexOf(ofFirst));

        // The next task starts as soon as the channel has stopped the first, which can be before the acknowledgement is written.
        Assert.Contains(messages, m => m.Str("task_id") == second && m.Str("status") == "processing");
        Assert.Equal("completed", messages[^1].Str("status"));
    }

    [Fact]
    public async Task An_interrupt_naming_a_task_this_session_does_not_have_stops_nothing_and_names_nothing()
    {
        await using var owner = await ProtocolClient.Connect(gateway.BaseAddress);
        await owner.Send(new { type = "synthesize", text = s_longText, voice_id = "en-male-1", format = "pcm" });
        var theirs = (await owner.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;

        await using var other = await ProtocolClient.Connect(gateway.BaseAddress);
        await other.Send(new { type = "synthesize", text = "Done already.", voice_id = "en-male-1", format = "pcm" });
        var finished = (await other.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        await other.ReceiveUntil(m => ProtocolClient.IsEnd(m, finished));
        foreach (var named in new[] { theirs, finished, "task_" + Guid.NewGuid().ToString("N") })
        {
            await other.Send(new { type = "interrupt", task_id = named });
            var ack = (await other.ReceiveUntil(m => m.Type == "interrupted"))[^1];
            Assert.Empty(ack.Json!["task_ids"]!.AsArray());
        }

        Assert.Equal("completed", (await owner.ReceiveUntil(m => ProtocolClient.IsEnd(m, theirs)))[^1].Str("status"));
    }

    [Fact]
    public async Task An_interrupt_naming_a_task_queued_on_the_sessions_earlier_socket_stops_it_and_ends_it_here()
    {
        var sessionId = "earlier-" + Guid.NewGuid().ToString("N");
        var (taskIds, second) = await QueuedOnAnEarlierSocket(sessionId);
        await using var _ = second;
        await second.Send(new { type = "interrupt", task_id = taskIds[^1] });
        var messages = await second.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskIds[^1]));
        var ackIndex = messages.FindIndex(m => m.Type == "interrupted");
        Assert.Equal([taskIds[^1]], messages[ackIndex].Json!["task_ids"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("cancelled", messages[^1].Str("status"));
        Assert.Equal(ackIndex + 1, messages.Count - 1);
        Assert.Equal("cancelled", (await gateway.Client.GetFromJsonAsync<JsonObject>($"/api/v1/tasks/{taskIds[^1]}"))!["status"]!.GetValue<string>());
        await second.Send(new { type = "interrupt" });
    }

    [Fact]
    public async Task Interrupting_everything_ends_each_task_queued_on_the_sessions_earlier_socket_once_here()
    {
        var sessionId = "earlier-all-" + Guid.NewGuid().ToString("N");
        var (taskIds, second) = await QueuedOnAnEarlierSocket(sessionId);
        await using var _ = second;
        await second.Send(new { type = "interrupt" });
        await second.ReceiveUntil(m => m.Type == "interrupted");
        var after = await second.Drain(TimeSpan.FromMilliseconds(700));

        // Every task that had not finished ends here once, cancelled; none twice, and no audio follows.
        var ends = after.Where(m => m.Type == "status" && m.Str("status") is "cancelled" or "completed").GroupBy(m => m.Str("task_id")!).ToList();
        Assert.All(ends, g => Assert.Single(g));
        foreach (var taskId in taskIds)
        {
            var status = (await gateway.Client.GetFromJsonAsync<JsonObject>($"/api/v1/tasks/{taskId}"))!["status"]!.GetValue<string>();
            if (status == "cancelled")
            {
                Assert.Contains(ends, g => g.Key == taskId);
            }
        }

        Assert.Contains(ends, g => g.Key == taskIds[^1]);
        Assert.DoesNotContain(after, m => m.IsAudio);
    }

    [Fact]
    public async Task A_resume_from_before_an_interrupts_statuses_does_not_end_the_stopped_tasks_again()
    {
        var sessionId = "resume-after-interrupt-" + Guid.NewGuid().ToString("N");
        string[] stopped;
        long resumeFrom;
        await using (var first = await ProtocolClient.Connect(gateway.BaseAddress))
        {
            await first.Send(new { type = "connect", session_id = sessionId });
            await first.Receive();
            await first.Send(new { type = "synthesize", text = s_longText, voice_id = "en-male-1", format = "pcm" });
            await first.Send(new { type = "synthesize", text = s_longText, voice_id = "en-male-1", format = "pcm" });
            var seen = await first.ReceiveUntil(m => m.IsAudio);
            await first.Send(new { type = "interrupt" });
            var ack = (await first.ReceiveUntil(m => m.Type == "interrupted"))[^1];
            stopped = [.. ack.Json!["task_ids"]!.AsArray().Select(n => n!.GetValue<string>())];
            Assert.Equal(2, stopped.Length);
            await first.ReceiveUntil(m => m.Str("task_id") == stopped[^1] && m.Str("status") == "cancelled");
            resumeFrom = ack.Json!["last_sequence"]!.GetValue<long>();
            first.Socket.Abort();
        }

        await using var second = await ProtocolClient.Connect(gateway.BaseAddress);
        await second.Send(new { type = "connect", session_id = sessionId, last_sequence = resumeFrom });
        await second.ReceiveUntil(m => m.Type == "connected");
        await second.Send(new { type = "synthesize", text = "After the barge-in.", voice_id = "en-male-1", format = "pcm" });
        var next = (await second.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        var replayed = await second.ReceiveUntil(m => ProtocolClient.IsEnd(m, next));

        Assert.DoesNotContain(replayed, m => m.Str("task_id") is { } id && stopped.Contains(id));
        Assert.Equal("completed", replayed[^1].Str("status"));
    }

    [Fact]
    public async Task A_resume_from_the_acknowledgements_sequence_replays_none_of_the_audio_the_interrupt_dropped()
    {
        // The channel numbers audio a little ahead of the socket; what the socket dropped at the barge-in must not come back on a resume
        // (it did in one try of four to ten). Twenty tries: each resumes from the acknowledgement, and the first numbered event it gets
        // must be the next task's `processing`, no frame of the stopped task before it. Numbers may skip: the dropped audio and the
        // stopped task's end (told with the acknowledgement) keep theirs.
        for (var round = 0; round < 20; round++)
        {
            var sessionId = "resume-dropped-audio-" + Guid.NewGuid().ToString("N");
            long resumeFrom;
            await using (var first = await ProtocolClient.Connect(gateway.BaseAddress))
            {
                await first.Send(new { type = "connect", session_id = sessionId, frame_sequence = true });
                await first.Receive();
                await first.Send(new { type = "synthesize", text = s_longText, voice_id = "en-male-1", format = "pcm" });
                await first.ReceiveUntil(m => m.IsAudio);
                await first.Send(new { type = "interrupt" });
                resumeFrom = (await first.ReceiveUntil(m => m.Type == "interrupted"))[^1].Json!["last_sequence"]!.GetValue<long>();
                await first.ReceiveUntil(m => m.Str("status") == "cancelled");
                first.Socket.Abort();
            }

            await using var second = await ProtocolClient.Connect(gateway.BaseAddress);
            await second.Send(new { type = "connect", session_id = sessionId, last_sequence = resumeFrom, frame_sequence = true });
            await second.ReceiveUntil(m => m.Type == "connected");
            await second.Send(new { type = "synthesize", text = "After the barge-in.", voice_id = "en-male-1", format = "pcm" });
            var next = (await second.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
            var resumed = await second.ReceiveUntil(m => ProtocolClient.IsEnd(m, next));

            Assert.DoesNotContain(resumed, m => m.Type == "error");
            var numbered = resumed.Where(m => m.Seq is not null).ToList();
            Assert.True(numbered[0].Str("status") == "processing" && numbered[0].Str("task_id") == next,
                $"round {round}: resumed from {resumeFrom}, first got {(numbered[0].IsAudio ? "audio" : numbered[0].Str("status"))} #{numbered[0].Seq}");
            Assert.True(numbered[0].Seq > resumeFrom);
        }
    }

    /// <summary>Eight long tasks queued on a socket of <paramref name="sessionId"/> that then drops, and a new socket on the session,
    /// which starts at the channel's present: it has heard nothing of the tasks still waiting their turn.</summary>
    private async Task<(List<string> TaskIds, ProtocolClient Second)> QueuedOnAnEarlierSocket(string sessionId)
    {
        var taskIds = new List<string>();
        await using (var first = await ProtocolClient.Connect(gateway.BaseAddress))
        {
            await first.Send(new { type = "connect", session_id = sessionId });
            await first.Receive();
            for (var i = 0; i < 8; i++)
            {
                await first.Send(new { type = "synthesize", text = s_longText, voice_id = "en-male-1", format = "pcm" });
                taskIds.Add((await first.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!);
            }

            first.Socket.Abort();
        }

        var second = await ProtocolClient.Connect(gateway.BaseAddress);
        await second.Send(new { type = "connect", session_id = sessionId });
        await second.ReceiveUntil(m => m.Type == "connected");
        return (taskIds, second);
    }

    [Fact]
    public async Task A_barge_in_that_stops_several_tasks_reports_no_lost_events_after_it()
    {
        // The numbers of the stopped tasks' dropped events stay taken; the socket read that gap as a loss and sent events_dropped
        // after every interrupt that stopped two tasks or more (8 of 8 tries).
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "connect", session_id = "barge-in-gap-" + Guid.NewGuid().ToString("N"), frame_sequence = true });
        await client.Receive();
        await client.Send(new { type = "synthesize", text = s_longText, voice_id = "en-male-1", format = "pcm" });
        await client.Send(new { type = "synthesize", text = "A short one queued behind it.", voice_id = "en-male-1", format = "pcm" });
        await client.Send(new { type = "synthesize", text = "And another.", voice_id = "en-male-1", format = "pcm" });
        var seen = await client.ReceiveUntil(m => m.IsAudio);
        await client.Send(new { type = "interrupt" });
        seen.AddRange(await client.ReceiveUntil(m => m.Type == "interrupted"));
        await client.Send(new { type = "synthesize", text = "After the barge-in.", voice_id = "en-male-1", format = "pcm" });
        seen.AddRange(await client.ReceiveUntil(m => m.Str("status") == "queued"));
        var next = seen[^1].Str("task_id")!;
        seen.AddRange(await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, next)));

        Assert.Equal(3, seen.Count(m => m.Str("status") == "cancelled"));
        Assert.DoesNotContain(seen, m => m.Type == "error");
        Assert.Equal("completed", seen[^1].Str("status"));
    }

    [Fact]
    public async Task Reconnecting_with_the_last_sequence_resumes_with_no_gap_and_no_duplicate()
    {
        var sessionId = "resume-" + Guid.NewGuid().ToString("N");
        var text = string.Join(" ", Enumerable.Repeat("Resuming must not lose or repeat a single byte of this sentence.", 20));
        var received = new List<ServerMessage>();
        string taskId;
        await using (var first = await ProtocolClient.Connect(gateway.BaseAddress))
        {
            await first.Send(new { type = "connect", session_id = sessionId });
            await first.Receive();
            await first.Send(new { type = "synthesize", text, voice_id = "en-female-1", format = "pcm" });
            taskId = (await first.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;

            // Take a few frames, then drop the connection without a close handshake, as a network failure would.
            var frames = 0;
            received.AddRange(await first.ReceiveUntil(m => m.IsAudio && ++frames == 3));
            first.Socket.Abort();
        }

        var last = received.Last(m => m.Seq is not null).Seq!.Value;
        await using var second = await ProtocolClient.Connect(gateway.BaseAddress);
        await second.Send(new { type = "connect", session_id = sessionId, last_sequence = last });
        var connected = await second.Receive();
        Assert.Equal("connected", connected!.Type);
        Assert.True(connected.Json!["resumed"]!.GetValue<bool>());
        var rest = await second.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));

        Assert.Equal(last + 1, rest[0].Seq);
        var all = received.Where(m => m.Seq is not null).Concat(rest).Select(m => m.Seq!.Value).ToList();
        Assert.Equal(Enumerable.Range((int)all[0], all.Count).Select(i => (long)i), all);

        var bytes = received.Concat(rest).Where(m => m.IsAudio).Sum(m => m.Audio!.Length);
        var durationMs = rest[^1].Json!["duration_ms"]!.GetValue<int>();
        Assert.InRange(bytes / 2.0 / 22050 * 1000, durationMs - 2, durationMs + 2);
    }

    [Fact]
    public async Task A_newer_connection_to_the_session_takes_it_over()
    {
        var sessionId = "takeover-" + Guid.NewGuid().ToString("N");
        await using var first = await ProtocolClient.Connect(gateway.BaseAddress);
        await first.Send(new { type = "connect", session_id = sessionId });
        await first.Receive();

        await using var second = await ProtocolClient.Connect(gateway.BaseAddress);
        await second.Send(new { type = "connect", session_id = sessionId });
        Assert.Equal("connected", (await second.Receive())!.Type);

        Assert.Null(await first.Receive(TimeSpan.FromSeconds(10)));
        Assert.Equal(4001, (int)first.CloseStatus!.Value);
    }
}
