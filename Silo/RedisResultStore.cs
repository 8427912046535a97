using System.Globalization;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Results;
using Orleans.Serialization;
using StackExchange.Redis;

namespace MitTts.Silo;

/// <summary>Cluster mode's result store: finished records and kept audio as Redis keys that expire with the result, readable from
/// every silo (a task's next activation may be anywhere).</summary>
/// <remarks>The budget is Redis's own: <c>maxmemory</c> with <c>maxmemory-policy volatile-ttl</c> (set by <c>scripts/cluster.sh</c> and
/// <c>deploy/</c>). Results carry the shortest TTLs of all keys, so under memory pressure they go first, oldest first; unfinished tasks and
/// sessions (longer TTLs) after them, and membership, ledgers and reminders (no TTL) never. Record and audio are separate keys, so a
/// status read does not load audio, and an evicted audio key leaves its record saying <see cref="ResultAudio.Expired"/>.</remarks>
public sealed class RedisResultStore(ConfigurationOptions redis, string prefix, Serializer serializer, TimeProvider time) : IResultStore, IDisposable
{
    private readonly Lazy<Task<ConnectionMultiplexer>> _connection = new(() => ConnectionMultiplexer.ConnectAsync(redis));

    public void Dispose()
    {
        if (_connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully)
        {
            _connection.Value.Result.Dispose();
        }
    }

    public async ValueTask Put(string taskId, TaskSnapshot record, AudioResult? audio, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var ttl = expiresAt - time.GetUtcNow();
        if (ttl <= TimeSpan.Zero)
        {
            return;
        }

        var db = await Database();
        // The record outlives the audio by as long again: a late reader hears that the audio expired, not that the task is unknown.
        // A task ends once, so a result without audio has no audio key to delete: deleting it anyway cost every such task a command.
        var recordWrite = db.StringSetAsync(RecordKey(taskId), serializer.SerializeToArray(StoredRecord.Of(record, audio is not null)), ttl * 2);
        var audioWrite = audio is null ? Task.CompletedTask : db.StringSetAsync(AudioKey(taskId), serializer.SerializeToArray(audio), ttl);
        await Task.WhenAll(recordWrite, audioWrite);
    }

    public async ValueTask<TaskSnapshot?> GetRecord(string taskId, CancellationToken cancellationToken = default)
    {
        var db = await Database();
        var read = db.StringGetAsync(RecordKey(taskId));
        var audioKept = db.KeyExistsAsync(AudioKey(taskId));
        var value = await read;
        if (value.IsNull)
        {
            return null;
        }

        if (serializer.Deserialize<TaskSnapshot>((byte[])value!) is not { } record)
        {
            return null;
        }

        return record.Audio == ResultAudio.Kept && !await audioKept ? record with { Audio = ResultAudio.Expired } : record;
    }

    public async ValueTask<AudioResult?> GetAudio(string taskId, CancellationToken cancellationToken = default)
    {
        var db = await Database();
        var value = await db.StringGetAsync(AudioKey(taskId));
        return value.IsNull ? null : serializer.Deserialize<AudioResult>((byte[])value!);
    }

    public async ValueTask Remove(string taskId, CancellationToken cancellationToken = default)
    {
        var db = await Database();
        await db.KeyDeleteAsync([RecordKey(taskId), AudioKey(taskId)]);
    }

    /// <summary>Redis's memory against its <c>maxmemory</c>, and its evicted and expired key counts (all keys: Redis does not count
    /// per prefix; results are the keys that come and go). Record counts are not kept (-1): counting would cost a scan.</summary>
    public async ValueTask<ResultStoreStatistics> GetStatistics(CancellationToken cancellationToken = default)
    {
        var connection = await _connection.Value;
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        Dictionary<string, string> info;
        try
        {
            info = (await server.InfoAsync()).SelectMany(group => group).ToDictionary(pair => pair.Key, pair => pair.Value, StringComparer.Ordinal);
        }
        catch (Exception e) when (e is RedisException or RedisCommandException or TimeoutException)
        {
            // Redis is down, or refuses INFO (a managed Redis may): the figures are unknown, the status page still answers.
            return new ResultStoreStatistics("redis", -1, -1, -1, -1, 0, 0, -1, -1);
        }

        long Field(string name) => info.TryGetValue(name, out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) ? number : 0;
        return new ResultStoreStatistics("redis", -1, -1, Field("used_memory"), Field("maxmemory"), 0, 0, Field("evicted_keys"), Field("expired_keys"));
    }

    private async Task<IDatabase> Database() => (await _connection.Value).GetDatabase();

    private RedisKey RecordKey(string taskId) => $"{prefix}:result:{taskId}";

    private RedisKey AudioKey(string taskId) => $"{prefix}:audio:{taskId}";
}
