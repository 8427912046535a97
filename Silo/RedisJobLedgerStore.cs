using MitTts.Grains.Synthesis;
using StackExchange.Redis;

namespace MitTts.Silo;

/// <summary>Cluster mode's job ledgers: one Redis hash per node (owner id → kind), so an add or a remove is one <c>HSET</c> or <c>HDEL</c>
/// whatever the node's load, where the ledger grain's state was rewritten whole (every unfinished job of the node) on each.</summary>
/// <remarks>No TTL: a ledger must outlive its node until a survivor takes it.</remarks>
public sealed class RedisJobLedgerStore(ConfigurationOptions redis, string prefix) : IJobLedgerStore, IDisposable
{
    private readonly Lazy<Task<ConnectionMultiplexer>> _connection = new(() => ConnectionMultiplexer.ConnectAsync(redis));

    public async Task Add(string node, string ownerId, string kind) =>
        await (await Database()).HashSetAsync(Key(node), ownerId, kind);

    public async Task Remove(string node, string ownerId) =>
        await (await Database()).HashDeleteAsync(Key(node), ownerId);

    public async Task<IReadOnlyDictionary<string, string>> TakeAll(string node)
    {
        // MULTI/EXEC: what is read is exactly what is deleted; an add that comes after stays for the next taker.
        var transaction = (await Database()).CreateTransaction();
        var entries = transaction.HashGetAllAsync(Key(node));
        _ = transaction.KeyDeleteAsync(Key(node));
        await transaction.ExecuteAsync();
        var taken = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in await entries)
        {
            taken[entry.Name!] = entry.Value!;
        }

        return taken;
    }

    public void Dispose()
    {
        if (_connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully)
        {
            _connection.Value.Result.Dispose();
        }
    }

    private RedisKey Key(string node) => $"{prefix}:ledger:{node}";

    private async Task<IDatabase> Database() => (await _connection.Value).GetDatabase();
}
