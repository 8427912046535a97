using System.Net;
using MitTts.Tests.Api;
using MitTts.Tests.WebSockets;
using StackExchange.Redis;

namespace MitTts.Tests.Cluster;

/// <summary>What a Redis outage does to work already under way: it finishes, and its results are not lost.</summary>
/// <remarks>On a cluster of its own: after this test the shared cluster's two silos rendered English differently (libespeak-ng keeps
/// state from one synthesis to the next that no call resets), and ClusterOpenAiFailoverTests, which splices a stream across both
/// silos and compares it with one silo's rendering, failed whenever it ran after this one.</remarks>
[Collection(OutageClusterCollection.Name)]
public sealed class ClusterRedisOutageTests(OutageClusterFixture cluster) : IAsyncLifetime
{
    public Task InitializeAsync() => cluster.EnsureHealthy();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_task_that_ends_while_redis_is_down_keeps_its_record_and_audio_and_both_land_in_redis_when_it_is_back()
    {
        // Still synthesizing when Redis has stopped: three long tasks (minutes of audio each, every sentence different so that none
        // comes from the audio cache) share the engine, and the last one, the longest, ends last; its result is the one watched. One
        // such task was not enough: espeak-ng can speak it in well under a second, and in a CI run it ended before Redis had stopped.
        var sessionId = "outage-" + Guid.NewGuid().ToString("N");
        await using var client = await ProtocolClient.Connect(cluster.Balancer.BaseAddress!);
        await client.Send(new { type = "connect", session_id = sessionId });
        Assert.Equal("connected", (await client.Receive())!.Type);
        var heard = new List<ServerMessage>();
        var taskIds = new List<string>();
        for (var task = 1; task <= 3; task++)
        {
            var text = string.Join(" ", Enumerable.Range(1, task == 3 ? 40 : 30).Select(i => $"En la parte {i} de la tarea {task}, los niños juegan en el parque mientras sus padres conversan."));
            await client.Send(new { type = "synthesize", text, voice_id = "es-female-1", format = "pcm", store = true });
            heard.AddRange(await client.ReceiveUntil(m => m.Str("status") == "queued"));
            taskIds.Add(heard[^1].Str("task_id")!);
        }

        var taskId = taskIds[^1];

        heard.AddRange(await client.ReceiveUntil(m => m.IsAudio));

        await cluster.Process("redis").Stop(TimeSpan.FromSeconds(5));
        try
        {
            heard.AddRange(await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId), TimeSpan.FromSeconds(90)));
            Assert.Equal("completed", heard[^1].Str("status"));
            // A silo logs the first result it holds; those that end after it are held behind it without a line of their own. The
            // watched task ends last, so one of the session's results held means that one was held too.
            Assert.True(taskIds.Any(id => cluster.Process("silo-a").Logged(id, "held here") || cluster.Process("silo-b").Logged(id, "held here")),
                "the tasks ended before Redis stopped: make the texts longer");

            // Still down: the task's silo answers from what it holds (the result was lost before: 404 once Redis came back).
            var during = await (await cluster.Balancer.GetAsync($"/api/v1/tasks/{taskId}")).Json();
            Assert.Equal("completed", during.GetProperty("status").GetString());

            // A new task meanwhile either runs (a streamed task needs no storage to be heard) or ends with cluster_unavailable where its
            // grain's state cannot be read; either way the socket stays open (an unreadable grain state used to close it with 1011).
            await client.Send(new { type = "synthesize", text = "Mientras tanto.", voice_id = "es-female-1", format = "pcm", request_id = "during" });
            var during2 = (await client.ReceiveUntil(m => m.Str("request_id") == "during" && m.Str("status") is "completed" or "error", TimeSpan.FromSeconds(60)))[^1];
            Assert.True(during2.Str("status") == "completed" || during2.Json!["error"]!["code"]!.GetValue<string>() == "cluster_unavailable", during2.ToString());
            await client.Send(new { type = "ping" });
            Assert.Equal("pong", (await client.ReceiveUntil(m => m.Type == "pong"))[^1].Type);
        }
        finally
        {
            await cluster.StartRedis();
        }

        // Written behind once Redis is back: the record and the audio are Redis keys, readable from any silo.
        using (var redis = await ConnectionMultiplexer.ConnectAsync(cluster.RedisEndpoint))
        {
            var db = redis.GetDatabase();
            await cluster.WaitFor(
                async () => await db.KeyExistsAsync($"mittts:mittts:result:{taskId}") && await db.KeyExistsAsync($"mittts:mittts:audio:{taskId}"),
                "the held result to be written to Redis",
                TimeSpan.FromSeconds(30));
        }

        // The session's tasks play one after another: the watched task's frames lie between its processing and end statuses.
        var started = heard.First(m => m.Str("task_id") == taskId && m.Str("status") == "processing").Seq!.Value;
        var ended = heard.First(m => ProtocolClient.IsEnd(m, taskId)).Seq!.Value;
        var streamed = heard.Where(m => m.IsAudio && m.Sequence > started && m.Sequence < ended).SelectMany(m => m.Audio!).ToArray();
        Assert.NotEmpty(streamed);
        var record = await (await cluster.Balancer.GetAsync($"/api/v1/tasks/{taskId}")).Json();
        Assert.Equal("completed", record.GetProperty("status").GetString());
        var download = await cluster.Balancer.GetAsync($"/api/v1/audio/{taskId}.pcm");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(streamed.Length, (await download.Content.ReadAsByteArrayAsync()).Length);
    }
}

/// <summary>A real cluster for <see cref="ClusterRedisOutageTests"/> alone.</summary>
public sealed class OutageClusterFixture : RealClusterFixture;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OutageClusterCollection : ICollectionFixture<OutageClusterFixture>
{
    public const string Name = "redis outage cluster";
}
