using System.Net.Http.Json;
using MitTts.Tests.Api;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Cluster;

/// <summary>The WebSocket protocol across the cluster: a session outlives the gateway that carried it.</summary>
[Collection(RealClusterCollection.Name)]
public sealed class ClusterWebSocketTests(RealClusterFixture cluster) : IAsyncLifetime
{
    public Task InitializeAsync() => cluster.EnsureHealthy();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_client_whose_gateway_is_killed_mid_stream_resumes_through_nginx_on_the_other_one()
    {
        var sessionId = "cluster-resume-" + Guid.NewGuid().ToString("N");
        var text = string.Join(" ", Enumerable.Repeat("Ningún fragmento se pierde ni se repite cuando cae el nodo que lo enviaba.", 40));
        var received = new List<ServerMessage>();
        string taskId;
        using (var direct = cluster.Gateway("gateway-a"))
        {
            await using var first = await ProtocolClient.Connect(direct.BaseAddress!);
            await first.Send(new { type = "connect", session_id = sessionId });
            await first.Receive();
            await first.Send(new { type = "synthesize", text, voice_id = "es-female-1", format = "pcm" });
            taskId = (await first.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;

            var frames = 0;
            received.AddRange(await first.ReceiveUntil(m => m.IsAudio && ++frames == 3));

            // The gateway dies as a machine would; the session's channel lives on in the silos.
            await cluster.Process("gateway-a").Kill();
        }

        var last = received.Last(m => m.Seq is not null).Seq!.Value;
        await using var second = await ProtocolClient.Connect(cluster.Balancer.BaseAddress!);
        await second.Send(new { type = "connect", session_id = sessionId, last_sequence = last });
        var connected = await second.Receive();
        Assert.Equal("connected", connected!.Type);
        Assert.True(connected.Json!["resumed"]!.GetValue<bool>());
        var rest = await second.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId), TimeSpan.FromSeconds(60));

        // Every sequence once, in order, from the first frame to the end status; the audio adds up to the task's duration.
        Assert.Equal(last + 1, rest[0].Seq);
        var all = received.Where(m => m.Seq is not null).Concat(rest).Select(m => m.Seq!.Value).ToList();
        Assert.Equal(Enumerable.Range((int)all[0], all.Count).Select(i => (long)i), all);
        Assert.Equal("completed", rest[^1].Str("status"));
        var bytes = received.Concat(rest).Where(m => m.IsAudio).Sum(m => m.Audio!.Length);
        var durationMs = rest[^1].Json!["duration_ms"]!.GetValue<int>();
        Assert.InRange(bytes / 2.0 / 22050 * 1000, durationMs - 2, durationMs + 2);
    }

    [Fact]
    public async Task Tasks_stopped_on_one_gateway_read_as_cancelled_on_the_other_at_once_and_end_on_the_socket()
    {
        // The socket on gateway-a, REST on gateway-b: the channel, the task grains and the two gateways are separate processes.
        var text = LongText;
        using var other = cluster.Gateway("gateway-b");
        await using var client = await ConnectOnGatewayA("cluster-stop-");

        async Task<List<string>> Submit(int count)
        {
            var ids = new List<string>();
            for (var i = 0; i < count; i++)
            {
                await client.Send(new { type = "synthesize", text, voice_id = "es-female-1", format = LongFormat, speed = 0.5 });
                ids.Add((await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!);
            }

            await client.ReceiveUntil(m => m.IsAudio);
            return ids;
        }

        // A barge-in: once the acknowledgement is here, the other gateway reads the playing and the waiting task as cancelled.
        var interrupted = await Submit(2);
        await client.Send(new { type = "interrupt", reason = "barge_in" });
        await client.ReceiveUntil(m => m.Type == "interrupted");
        foreach (var taskId in interrupted)
        {
            var task = await other.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>($"/api/v1/tasks/{taskId}");
            Assert.Equal("cancelled", task!["status"]!.GetValue<string>());
        }

        // A cancel over REST of a task waiting its turn behind the playing one: the socket hears it end, then the playing one goes on.
        var ids = await Submit(2);
        using (var cancel = await other.DeleteAsync($"/api/v1/tasks/{ids[1]}"))
        {
            Assert.True(cancel.StatusCode == System.Net.HttpStatusCode.OK, await cancel.Content.ReadAsStringAsync());
        }

        var heard = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, ids[1]), TimeSpan.FromSeconds(20));
        Assert.Equal("cancelled", heard[^1].Str("status"));
        using (var stop = await other.DeleteAsync($"/api/v1/tasks/{ids[0]}"))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, stop.StatusCode);
        }

        Assert.Equal("cancelled", (await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, ids[0]), TimeSpan.FromSeconds(20)))[^1].Str("status"));

        // And one left to finish reads as completed over there once its socket heard it end.
        await client.Send(new { type = "synthesize", text = "Esta termina.", voice_id = "es-female-1", format = "pcm" });
        var last = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        Assert.Equal("completed", (await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, last)))[^1].Str("status"));
        var ended = await other.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>($"/api/v1/tasks/{last}");
        Assert.Equal("completed", ended!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_task_is_found_and_cancelled_through_another_gateway_the_moment_its_socket_says_queued()
    {
        // The socket on gateway-a, REST on gateway-b, asked the instant queued arrives: before the channel has the task, the task grain
        // already knows of it and waits for it. Twenty rounds: a window of a millisecond shows up in a few of them.
        var text = LongText;
        using var other = cluster.Gateway("gateway-b");
        await using var client = await ConnectOnGatewayA("cluster-queued-");
        for (var round = 0; round < 20; round++)
        {
            await client.Send(new { type = "synthesize", text, voice_id = "es-female-1", format = LongFormat, speed = 0.5 });
            var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
            using (var read = await other.GetAsync($"/api/v1/tasks/{taskId}"))
            {
                var body = await read.Content.ReadAsStringAsync();
                Assert.True(read.IsSuccessStatusCode, $"round {round}: {body}");
                var status = System.Text.Json.Nodes.JsonNode.Parse(body)!["status"]!.GetValue<string>();
                Assert.True(status is "queued" or "processing", $"round {round}: {body}");
            }

            using (var cancel = await other.DeleteAsync($"/api/v1/tasks/{taskId}"))
            {
                Assert.True(cancel.StatusCode == System.Net.HttpStatusCode.OK, $"round {round}: {await cancel.Content.ReadAsStringAsync()}");
            }

            Assert.Equal("cancelled", (await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId), TimeSpan.FromSeconds(20)))[^1].Str("status"));
        }
    }

    [Fact]
    public async Task Interrupting_a_context_while_its_long_text_is_still_being_dispatched_speaks_none_of_it_after_the_acknowledgement()
    {
        // One message of about 50 sentences: the channel dispatches them one by one, each a round trip to a synthesizer and a task
        // grain, so in a cluster the barge-in lands while it does (each sentence after it used to be spoken all the same).
        using var direct = cluster.Gateway("gateway-a");
        await using var client = await ProtocolClient.Connect(direct.BaseAddress!);
        await TextStreamingTests.InterruptLongContextAndAssertSilence(client,
            string.Concat(Enumerable.Range(1, 50).Select(i => $"Frase {i} larga para escuchar un buen rato. ")));
    }

    // About ten minutes of speech at half speed. espeak-ng makes its PCM in under half a second, and a loaded machine (the full suite)
    // let a synthesis end between a read and a cancel sent at once after it; encoded as Opus, the job lasts several seconds, so stops sent
    // soon after its start come well before its end.
    private const string LongFormat = "ogg";

    private static readonly string LongText =
        string.Join(" ", Enumerable.Repeat("Una frase larga que tarda en decirse, para que la tarea siga sonando.", 70));

    /// <summary>A socket on gateway-a, connected to a new session.</summary>
    private async Task<ProtocolClient> ConnectOnGatewayA(string sessionPrefix)
    {
        using var direct = cluster.Gateway("gateway-a");
        var client = await ProtocolClient.Connect(direct.BaseAddress!);
        try
        {
            await client.Send(new { type = "connect", session_id = sessionPrefix + Guid.NewGuid().ToString("N") });
            await client.Receive();
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }
}

/// <summary>A silo dies under a streaming session: the audio goes on from the survivor, every sentence exactly once.</summary>
[Collection(RealClusterCollection.Name)]
public sealed class ClusterSiloFailoverWebSocketTests(RealClusterFixture cluster) : IAsyncLifetime
{
    private const string Sentence = "The fox jumps over the lazy dog and runs into the forest.";

    public Task InitializeAsync() => cluster.EnsureHealthy();

    public Task DisposeAsync() => Task.CompletedTask;

    // Three times per run: a repeat of the failover that went wrong one run in five would slip through a single try.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task A_session_streaming_when_the_silo_synthesizing_it_is_killed_gets_every_sentence_once(int attempt)
    {
        Assert.InRange(attempt, 1, 3);
        var sessionId = "cluster-failover-" + Guid.NewGuid().ToString("N");
        var text = string.Join(" ", Enumerable.Repeat(Sentence, 80));
        var expectedWords = Sentence.TrimEnd('.').Split(' ');
        await using var client = await ProtocolClient.Connect(cluster.Balancer.BaseAddress!);
        await client.Send(new { type = "connect", session_id = sessionId });
        await client.Receive();

        // Enough tasks that the devices are still busy (and some queued) when the silo dies: espeak-ng is fast.
        var messages = new List<ServerMessage>();
        var (taskIds, victim) = await cluster.StreamThenKillItsSilo(client, new { type = "synthesize", text, voice_id = "en-male-1", format = "mulaw", priority = "normal", timestamps = true }, 8, messages);

        messages.AddRange(await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskIds[^1]), TimeSpan.FromSeconds(90)));
        Assert.DoesNotContain(messages, m => m.Type == "error");

        var sequences = messages.Where(m => m.Seq is not null).Select(m => m.Seq!.Value).ToList();
        Assert.Equal(sequences.Order(), sequences);
        Assert.Equal(sequences.Count, sequences.Distinct().Count());

        // One line per task, shown when an assertion fails.
        var debug = new System.Text.StringBuilder($"victim {victim}\n");
        foreach (var id in taskIds)
        {
            var own = messages.Where(m => m.Str("task_id") == id).ToList();
            var w = own.Where(m => m.Type == "timestamps").SelectMany(m => m.Json!["words"]!.AsArray()).Count();
            debug.Append(System.Globalization.CultureInfo.InvariantCulture, $"{id[..14]} messages={own.Count} words={w} statuses={string.Join(",", own.Where(m => m.Type == "status").Select(m => m.Str("status") + "#" + m.Seq + m.Json!["error"]?.ToJsonString()))}\n");
        }

        foreach (var id in taskIds)
        {
            var own = messages.Where(m => m.Str("task_id") == id).ToList();
            Assert.True(own.SingleOrDefault(m => ProtocolClient.IsEnd(m, id))?.Str("status") == "completed", debug.ToString());

            // Word timestamps name what the client was sent: every sentence's words once, in order, none lost, none twice.
            var words = own.Where(m => m.Type == "timestamps").SelectMany(m => m.Json!["words"]!.AsArray()).Select(w => w!["word"]!.GetValue<string>()).ToList();
            Assert.True(Enumerable.Repeat(expectedWords, 80).SelectMany(w => w).SequenceEqual(words), debug.ToString());

            // Audio: the session's tasks run one after another, so the task's frames lie between its processing and end statuses.
            // The stream is a μ-law WAV at 8 kHz, one byte per sample after the header: the samples received are the reported
            // duration, exactly (none lost, none twice).
            var started = own.First(m => m.Str("status") == "processing").Seq!.Value;
            var end = own.Single(m => ProtocolClient.IsEnd(m, id));
            var audio = messages.Where(m => m.IsAudio && m.Sequence > started && m.Sequence < end.Seq!.Value).SelectMany(m => m.Audio!).ToArray();
            var data = audio.AsSpan(0, 128).IndexOf("data"u8);
            Assert.True(data > 0, $"{id}: no WAV data chunk at the start of the stream");
            var samples = audio.Length - (data + 8);
            Assert.True(end.Json!["duration_ms"]!.GetValue<int>() == samples * 1000L / 8000, $"{id}: {samples} samples of audio for {end.Json!["duration_ms"]} ms\n{debug}");
        }

        Assert.True(cluster.Process(victim == "silo-a" ? "silo-b" : "silo-a").Logged(victim, "died"), $"the survivor did not log that {victim} died");
    }
}
