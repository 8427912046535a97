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
        // Long enough to still be synthesizing when Redis has stopped (several minutes of audio, some seconds of synthesis).
        var text = string.Join(" ", Enumerable.Repeat("Los niños juegan en el parque mientras sus padres conversan tranquilamente sobre el tiempo.", 45));
        var sessionId = "outage-" + Guid.NewGuid().ToString("N");
        await using var client = await ProtocolClient.Connect(cluster.Balancer.BaseAddress!);
        await client.Send(new { type = "connect", session_id = sessionId });
        Assert.Equal("connected", (await client.Receive())!.Type);
        await client.Send(new { type = "synthesize", text, voice_id = "es-female-1", format = "pcm", store = true });
        var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        var heard = await client.ReceiveUntil(m => m.IsAudio);

        await cluster.Process("redis").Stop(TimeSpan.FromSeconds(5));
        try
        {
            heard.AddRange(await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId), TimeSpan.FromSeconds(60)));
            Assert.Equal("completed", heard[^1].Str("status"));
            Assert.True(cluster.Process("silo-a").Logged(taskId, "held here") || cluster.Process("silo-b").Logged(taskId, "held here"),
                "the task ended before Redis stopped: make the text longer");

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

        var streamed = heard.Where(m => m.IsAudio).SelectMany(m => m.Audio!).ToArray();
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
