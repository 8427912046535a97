using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Results;
using MitTts.Silo;
using MitTts.Tests.Support;
using Orleans.Serialization;
using static MitTts.Tests.Results.RedisResultStoreTests;

namespace MitTts.Tests.Results;

/// <summary>Cluster mode's results while Redis is away: held in the silo, answered from there, written once Redis is back.</summary>
public sealed class WriteBehindResultStoreTests
{
    private static readonly Serializer s_serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

    [Fact]
    public async Task A_result_finished_while_redis_is_down_is_answered_from_the_silo_and_lands_in_redis_once_it_is_back()
    {
        using var redis = await RedisServerProcess.Start();
        var port = redis.Port;
        var endpoint = RedisConnection.Parse($"redis://127.0.0.1:{port}");
        using var store = new WriteBehindResultStore(new RedisResultStore(endpoint, "mittts:wb", s_serializer, TimeProvider.System), 1 << 20, TimeProvider.System);
        // The first put connects (a command the multiplexer fails fast before its handshake is held and written a moment later).
        await store.Put("before", Record("before"), null, DateTimeOffset.UtcNow.AddHours(1));
        await Drained(store);

        redis.Dispose();
        var audio = Audio(7, 50_000);
        await store.Put("t1", Record("t1"), audio, DateTimeOffset.UtcNow.AddHours(1));

        Assert.True(store.HoldsLocally("t1"));
        Assert.Equal((1, 50_000L), (store.PendingCount, store.PendingAudioBytes));
        Assert.Equal((ResultAudio.Kept, string.Empty), ((await store.GetRecord("t1"))!.Audio, (await store.GetRecord("t1"))!.Request.Text));
        Assert.Equal(audio.Data, (await store.GetAudio("t1"))!.Data);

        // A second result while the first still waits goes behind it, without trying Redis first.
        await store.Put("t2", Record("t2"), null, DateTimeOffset.UtcNow.AddHours(1));
        Assert.Equal(2, store.PendingCount);

        using var again = await RedisServerProcess.StartOn(port);
        await Drained(store);

        Assert.Equal((0, 0L), (store.PendingCount, store.PendingAudioBytes));
        Assert.False(store.HoldsLocally("t1"));
        using var reader = new RedisResultStore(endpoint, "mittts:wb", s_serializer, TimeProvider.System);
        Assert.Equal(ResultAudio.Kept, (await reader.GetRecord("t1"))!.Audio);
        Assert.Equal(audio.Data, (await reader.GetAudio("t1"))!.Data);
        Assert.Equal("t2", (await reader.GetRecord("t2"))!.TaskId);
    }

    [Fact]
    public async Task Past_the_pending_budget_a_held_result_keeps_its_record_and_its_audio_reads_as_expired()
    {
        using var store = new WriteBehindResultStore(new Unreachable(), 100_000, TimeProvider.System);
        await store.Put("a", Record("a"), Audio(1, 60_000), DateTimeOffset.UtcNow.AddHours(1));
        await store.Put("b", Record("b"), Audio(2, 60_000), DateTimeOffset.UtcNow.AddHours(1));

        Assert.Equal(Audio(1, 60_000).Data, (await store.GetAudio("a"))!.Data);
        Assert.Equal(ResultAudio.Expired, (await store.GetRecord("b"))!.Audio);
        Assert.Null(await store.GetAudio("b"));
        Assert.Equal((2, 60_000L), (store.PendingCount, store.PendingAudioBytes));

        // Removing one frees its share of the budget; removing from an unreachable store still says so.
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await store.Remove("a"));
        Assert.Equal((1, 0L), (store.PendingCount, store.PendingAudioBytes));
    }

    [Fact]
    public async Task A_held_result_whose_expiry_passes_reads_as_expired_and_is_dropped_rather_than_written()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var inner = new Unreachable();
        using var store = new WriteBehindResultStore(inner, 1 << 20, time);
        await store.Put("a", Record("a"), Audio(1, 1000), time.GetUtcNow().AddSeconds(10));
        Assert.Equal(ResultAudio.Kept, (await store.GetRecord("a"))!.Audio);

        time.Advance(TimeSpan.FromSeconds(11));

        Assert.Equal(ResultAudio.Expired, (await store.GetRecord("a"))!.Audio);
        Assert.Null(await store.GetAudio("a"));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (store.PendingCount > 0 && DateTime.UtcNow < deadline)
        {
            // The retry loop waits on the fake clock between attempts.
            time.Advance(TimeSpan.FromSeconds(2));
            await Task.Delay(10);
        }

        Assert.Equal(0, store.PendingCount);
        var attempts = inner.Puts;
        time.Advance(TimeSpan.FromSeconds(30));
        await Task.Delay(50);
        Assert.Equal(attempts, inner.Puts);
    }

    /// <summary>Waits (up to 30 s) until the store has written everything it held.</summary>
    private static async Task Drained(WriteBehindResultStore store)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (store.PendingCount > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(0, store.PendingCount);
    }

    /// <summary>A store that is down: every call fails.</summary>
    private sealed class Unreachable : IResultStore
    {
        private int _puts;

        public int Puts => Volatile.Read(ref _puts);

        public ValueTask Put(string taskId, TaskSnapshot record, AudioResult? audio, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _puts);
            return ValueTask.FromException(new InvalidOperationException("down"));
        }

        public ValueTask<TaskSnapshot?> GetRecord(string taskId, CancellationToken cancellationToken = default) => ValueTask.FromException<TaskSnapshot?>(new InvalidOperationException("down"));

        public ValueTask<AudioResult?> GetAudio(string taskId, CancellationToken cancellationToken = default) => ValueTask.FromException<AudioResult?>(new InvalidOperationException("down"));

        public ValueTask Remove(string taskId, CancellationToken cancellationToken = default) => ValueTask.FromException(new InvalidOperationException("down"));

        public ValueTask<ResultStoreStatistics> GetStatistics(CancellationToken cancellationToken = default) => ValueTask.FromException<ResultStoreStatistics>(new InvalidOperationException("down"));
    }
}
