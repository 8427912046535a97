using System.Globalization;
using MitTts.Silo;
using MitTts.Tests.Support;
using StackExchange.Redis;

namespace MitTts.Tests.Cluster;

/// <summary>Cluster mode's job ledgers against a real redis-server: one hash per node, one command per add or remove.</summary>
public sealed class RedisJobLedgerStoreTests : IAsyncLifetime, IDisposable
{
    private RedisServerProcess? _redis;
    private RedisJobLedgerStore? _store;
    private ConnectionMultiplexer? _admin;

    private RedisJobLedgerStore Store => _store!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServerProcess.Start();
        _store = new RedisJobLedgerStore(RedisConnection.Parse($"redis://127.0.0.1:{_redis.Port}"), "mittts:test");
        var admin = RedisConnection.Parse($"redis://127.0.0.1:{_redis.Port}");
        admin.AllowAdmin = true;
        _admin = await ConnectionMultiplexer.ConnectAsync(admin);
    }

    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _store?.Dispose();
        _store = null;
        _admin?.Dispose();
        _admin = null;
        _redis?.Dispose();
        _redis = null;
    }

    [Fact]
    public async Task Taking_a_ledger_returns_every_entry_once_and_leaves_other_nodes_and_later_entries()
    {
        await Store.Add("silo-a", "task_1", "task");
        await Store.Add("silo-a", "session-1", "channel");
        await Store.Add("silo-a", "task_2", "task");
        await Store.Remove("silo-a", "task_2");
        await Store.Add("silo-b", "task_3", "task");

        var taken = await Store.TakeAll("silo-a");
        await Store.Add("silo-a", "task_4", "task");

        Assert.Equal(new Dictionary<string, string> { ["task_1"] = "task", ["session-1"] = "channel" }, taken);
        Assert.Equal(new Dictionary<string, string> { ["task_4"] = "task" }, await Store.TakeAll("silo-a"));
        Assert.Empty(await Store.TakeAll("silo-a"));
        Assert.Equal(new Dictionary<string, string> { ["task_3"] = "task" }, await Store.TakeAll("silo-b"));
    }

    [Fact]
    public async Task An_add_or_a_remove_is_one_redis_command_however_many_jobs_the_node_has()
    {
        for (var i = 0; i < 2000; i++)
        {
            await Store.Add("busy", $"task_{i}", "task");
        }

        var before = await CommandsProcessed();
        await Store.Add("busy", "task_new", "task");
        await Store.Remove("busy", "task_7");
        var after = await CommandsProcessed();

        // The INFO that read "before" is counted too.
        Assert.Equal(3, after - before);
        Assert.Equal(2000, (await Store.TakeAll("busy")).Count);
    }

    private async Task<long> CommandsProcessed()
    {
        var server = _admin!.GetServer(_admin.GetEndPoints()[0]);
        var stats = await server.InfoAsync("stats");
        var value = stats.SelectMany(group => group).First(pair => pair.Key == "total_commands_processed").Value;
        return long.Parse(value, CultureInfo.InvariantCulture);
    }
}
