using MitTts.Tests.Api;
using MitTts.Tests.WebSockets;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace MitTts.Tests.Cluster;

/// <summary>What a task costs Redis, counted with <c>MONITOR</c> against the real cluster: only commands on keys named after the
/// measured tasks count, so membership heartbeats, reminders and other background traffic do not.</summary>
[Collection(RealClusterCollection.Name)]
public sealed class ClusterRedisCostTests(RealClusterFixture cluster, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Tasks = 10;

    public Task InitializeAsync() => cluster.EnsureHealthy();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_streamed_task_costs_redis_only_its_result()
    {
        await using var client = await ProtocolClient.Connect(cluster.Balancer.BaseAddress!);
        await client.Send(new { type = "connect", session_id = "cluster-cost-" + Guid.NewGuid().ToString("N") });
        await client.Receive();
        await using var monitor = await RedisMonitor.Start(cluster.RedisPort);

        // Half keep their audio for /audio (a second key), half do not (the WebSocket default).
        var ids = new List<(string Id, bool Store)>();
        var messages = new List<ServerMessage>();
        for (var i = 0; i < Tasks; i++)
        {
            var store = i % 2 == 0;
            await client.Send(new { type = "synthesize", text = $"Frase corta número {i}.", voice_id = "es-female-1", format = "pcm", store });
            messages.AddRange(await client.ReceiveUntil(m => m.Str("status") == "queued"));
            ids.Add((messages[^1].Str("task_id")!, store));
        }

        var open = ids.Select(t => t.Id).Where(id => !messages.Any(m => ProtocolClient.IsEnd(m, id))).ToHashSet();
        if (open.Count > 0)
        {
            await client.ReceiveUntil(m => m.Str("task_id") is { } id && ProtocolClient.IsEnd(m, id) && open.Remove(id) && open.Count == 0);
        }

        var counts = await Settled(monitor, ids.Select(t => t.Id));
        Report("streamed", counts);

        // The new design's whole cost: the activation's read of the (absent) grain state, the result record, and the audio when kept.
        // Before it, each task also wrote its grain state at submit, deleted it at its end and deleted an audio key it never had: 5.
        foreach (var (id, store) in ids)
        {
            Assert.True(counts[id].Count <= (store ? 3 : 2), $"{id} (store {store}): {Describe(counts[id])}");
        }
    }

    [Fact]
    public async Task A_rest_task_that_is_waited_for_costs_redis_its_record_and_its_result()
    {
        await using var monitor = await RedisMonitor.Start(cluster.RedisPort);
        var ids = new List<string>();
        for (var i = 0; i < Tasks; i++)
        {
            using var response = await cluster.Balancer.Synthesize(new { text = $"Petición esperada {i}.", voice_id = "es-female-1", format = "pcm" }, wait: true);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            ids.Add(response.Headers.GetValues("X-Task-Id").Single());
        }

        var counts = await Settled(monitor, ids);
        Report("rest ?wait=true", counts);

        // Its grain state is written at submit (a survivor takes the job over from it) and deleted at its end, after the result.
        Assert.All(ids, id => Assert.True(counts[id].Count <= 4, $"{id}: {Describe(counts[id])}"));
    }

    /// <summary>Waits until every task's result is stored and its grain state (if any was written) is gone, the last of a task's
    /// writes; then the commands on each task's keys, the test's own KEYS scans left out.</summary>
    private async Task<Dictionary<string, List<RedisCommand>>> Settled(RedisMonitor monitor, IEnumerable<string> ids)
    {
        var all = ids.ToList();
        await using var redis = await ConnectionMultiplexer.ConnectAsync(cluster.RedisEndpoint);
        var server = redis.GetServer(cluster.RedisEndpoint);
        var waiting = all.ToList();
        await cluster.WaitFor(async () =>
        {
            foreach (var id in waiting.ToList())
            {
                var stored = monitor.On(id).Any(c => c.Name is "SET" or "PSETEX" or "SETEX" && c.Key!.Contains(":result:", StringComparison.Ordinal));
                var keys = (await server.KeysAsync(pattern: $"*{id}*").ToArrayAsync()).Select(key => key.ToString());
                if (stored && keys.All(key => key.Contains(":result:", StringComparison.Ordinal) || key.Contains(":audio:", StringComparison.Ordinal)))
                {
                    waiting.Remove(id);
                }
            }

            return waiting.Count == 0;
        }, "every task's result stored and its grain state gone", TimeSpan.FromSeconds(30), () => Task.FromResult($"{monitor.Commands.Count} commands seen; waiting for {string.Join(", ", waiting)}; the first's: {Describe(monitor.On(waiting[0]))}"));

        return all.ToDictionary(id => id, id => monitor.On(id).Where(c => c.Name is not ("KEYS" or "SCAN")).ToList());
    }

    private void Report(string kind, Dictionary<string, List<RedisCommand>> counts)
    {
        var byName = counts.Values.SelectMany(c => c).GroupBy(c => c.Name).Select(g => $"{g.Key} {g.Count() / (double)counts.Count:0.##}");
        output.WriteLine($"{kind}: {counts.Values.Sum(c => c.Count) / (double)counts.Count:0.##} Redis commands per task ({string.Join(", ", byName)})");
    }

    private static string Describe(List<RedisCommand> commands) => string.Join(", ", commands.Select(c => $"{c.Name} {c.Key}"));
}
