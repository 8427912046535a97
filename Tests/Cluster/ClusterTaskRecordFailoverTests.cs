using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MitTts.Silo;
using MitTts.Tests.Api;
using MitTts.Tests.WebSockets;
using Orleans.Configuration;
using StackExchange.Redis;

namespace MitTts.Tests.Cluster;

/// <summary>A streamed task's record lives only in its task grain's memory: when the silo holding that grain dies mid-stream, the
/// channel's end report alone must leave <c>/tasks</c> and <c>/audio</c> right.</summary>
[Collection(TaskRecordClusterCollection.Name)]
public sealed class ClusterTaskRecordFailoverTests(TaskRecordClusterFixture cluster) : IAsyncLifetime
{
    public Task InitializeAsync() => cluster.EnsureHealthy();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_streamed_task_whose_task_grain_silo_dies_mid_stream_is_reported_completed_with_its_duration()
    {
        using var orleans = await ClusterClient();
        var management = orleans.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        await using var client = await ProtocolClient.Connect(cluster.Balancer.BaseAddress!);
        var sessionId = "cluster-record-" + Guid.NewGuid().ToString("N");
        await client.Send(new { type = "connect", session_id = sessionId });
        await client.Receive();

        // Enough long tasks that the last is still queued or running when its grain's silo dies: espeak-ng is fast, and a task
        // ends for its grain when its synthesis does, long before the socket has carried its audio.
        var messages = new List<ServerMessage>();
        var ids = new List<string>();
        // Every sentence differs: repeated ones came from the audio cache, and all ten tasks of one repeated sentence could end before
        // the kill (the test then failed its own premise). Four tasks were too few on a quiet machine: espeak-ng spoke all of them (260 s
        // of audio) in 1.6 s, before the test had found the silos to kill.
        for (var i = 0; i < 10; i++)
        {
            var text = string.Join(" ", Enumerable.Range(1, 50).Select(j => $"Part {j} of task {i + 1} in session {sessionId[^6..]} is rebuilt from its channel."));
            await client.Send(new { type = "synthesize", text, voice_id = "en-male-1", format = "pcm", store = true });
            messages.AddRange(await client.ReceiveUntil(m => m.Str("status") == "queued"));
            ids.Add(messages[^1].Str("task_id")!);
        }

        var id = ids[^1];
        string? victim = null;
        string? channelSilo = null;
        await cluster.WaitFor(
            async () => (victim = await SiloHolding(management, "task", id)) is not null && (channelSilo = await SiloHolding(management, "audiochannel", sessionId)) is not null,
            $"the silos of task grain {id} and of its channel", TimeSpan.FromSeconds(10));
        var before = await (await cluster.Balancer.GetAsync($"/api/v1/tasks/{id}")).Json();
        Assert.True(before.GetProperty("status").GetString() is "queued" or "processing", $"the task ended before the kill: make the texts longer\n{before}");
        await cluster.Process(victim!).Kill();
        try
        {
            messages.AddRange(await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, id), TimeSpan.FromSeconds(90)));
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"no end of {id} within 90 s after {victim} died; last: {string.Join(" | ", client.Received.TakeLast(3))}\n{Mentions(sessionId)}");
        }

        var end = messages.Single(m => ProtocolClient.IsEnd(m, id));
        Assert.Equal("completed", end.Str("status"));
        var seconds = end.Json!["duration_ms"]!.GetValue<int>() / 1000.0;

        // The report is stored behind the socket's end status: wait for it, not for a fixed time.
        System.Text.Json.JsonElement task = default;
        await cluster.WaitFor(async () =>
        {
            using var response = await cluster.Balancer.GetAsync($"/api/v1/tasks/{id}");
            task = response.StatusCode == HttpStatusCode.OK ? await response.Json() : default;
            return task.ValueKind != System.Text.Json.JsonValueKind.Undefined && task.GetProperty("status").GetString() == "completed";
        }, $"task {id} reported completed after {victim} died", TimeSpan.FromSeconds(30), () => Task.FromResult(Mentions(id)));

        // The record came back from the channel's report, not from storage (a streamed task's record is never written).
        var survivor = victim == "silo-a" ? "silo-b" : "silo-a";
        Assert.True(cluster.Process(survivor).Logged(id, "record rebuilt"), $"{survivor} did not rebuild the record of {id}:\n{Mentions(id)}");

        // Its duration and its times.
        Assert.Equal(seconds, task.GetProperty("audio_duration").GetDouble(), 0.002);
        Assert.True(task.GetProperty("started_at").GetDateTimeOffset() >= task.GetProperty("created_at").GetDateTimeOffset(), task.ToString());

        // The channel may have been restored from its saved state: it died too, or a call routed through the directory entries the
        // dead silo held activated it afresh (it logs its restore). A kept task is then rendered again from its start for its file,
        // and its reader gets only the rest: the file is a fresh rendering, as long as the task's duration says.
        var restored = channelSilo == victim || s_processes.Any(name => cluster.Process(name).Logged(sessionId, "channel restored"));
        Assert.Equal("kept", task.GetProperty("audio_state").GetString());

        // The kept audio: as long as what the socket carried.
        // The session's tasks run one after another on the socket: the task's frames lie between its processing and end statuses.
        var started = messages.First(m => m.Str("task_id") == id && m.Str("status") == "processing").Seq!.Value;
        var streamed = messages.Where(m => m.IsAudio && m.Sequence > started && m.Sequence < end.Seq!.Value).SelectMany(m => m.Audio!).ToArray();
        var kept = await cluster.Balancer.GetByteArrayAsync(task.GetProperty("audio_url").GetString());
        Assert.Equal(seconds, kept.Length / 2.0 / 22050, 0.002); // PCM at the voice's own rate, espeak-ng's 22,050 Hz

        // Within 32 samples, not exact: after this kill the kept file and the socket's frames have been seen to differ by 8 bytes
        // (not yet explained; the record, which this test is about, is right either way). After a restore the file's first part is
        // another rendering of what streamed: espeak-ng's renders of a sentence differ by a few samples, so 10 a sentence.
        var tolerance = restored ? 50 * 10 * 2 : 64;
        Assert.True(Math.Abs(kept.Length - streamed.Length) <= tolerance,
            $"kept {kept.Length} bytes, streamed {streamed.Length}; task grain on {victim} (killed), channel on {channelSilo}; task {task}; "
            + $"kept starts {Convert.ToHexString(kept.AsSpan(0, Math.Min(48, kept.Length)))}\n{Mentions(id)}");
    }

    private static readonly string[] s_processes = ["silo-a", "silo-b", "gateway-a", "gateway-b"];

    private string Mentions(string text) => string.Join('\n', s_processes
        .SelectMany(name => cluster.Process(name).ReadLog().Split('\n').Where(line => line.Contains(text, StringComparison.Ordinal)).Select(line => $"{name}: {line}")));

    /// <summary>The name of the silo where the grain <paramref name="type"/>/<paramref name="key"/> is active, as the cluster's management
    /// grain says.</summary>
    /// <remarks>Null while the management grain does not see it (a silo that just joined may not be counted yet).</remarks>
    private static async Task<string?> SiloHolding(IManagementGrain management, string type, string key)
    {
        var activation = (await management.GetDetailedGrainStatistics()).SingleOrDefault(s => s.GrainId.Type.ToString() == type && s.GrainId.Key.ToString() == key);
        return activation is null ? null : (await management.GetDetailedHosts(onlyActive: true)).SingleOrDefault(h => h.SiloAddress.Equals(activation.SiloAddress))?.SiloName;
    }

    /// <summary>An Orleans client of the cluster, for its management grain.</summary>
    private async Task<IHost> ClusterClient()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(orleans =>
        {
            orleans.Configure<ClusterOptions>(options => (options.ServiceId, options.ClusterId) = (ClusterSiloExtensions.ServiceId, ClusterSiloExtensions.DefaultClusterId));
            orleans.UseRedisClustering(options => options.ConfigurationOptions = ConfigurationOptions.Parse(cluster.RedisEndpoint));
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }
}

/// <summary>A real cluster for <see cref="ClusterTaskRecordFailoverTests"/> alone: the many sentences it speaks can leave libespeak-ng in a
/// state in which it renders English differently from then on (no call resets it), and ClusterOpenAiFailoverTests compares a stream spliced
/// across both silos with one silo's rendering.</summary>
public sealed class TaskRecordClusterFixture : RealClusterFixture;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TaskRecordClusterCollection : ICollectionFixture<TaskRecordClusterFixture>
{
    public const string Name = "task record failover cluster";
}
