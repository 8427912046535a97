using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using MitTts.Grains.Interfaces;
using MitTts.Silo;
using MitTts.Tests.Support;
using Orleans.Serialization;

namespace MitTts.Tests.Results;

/// <summary>Cluster mode's result store against a real redis-server with a small <c>maxmemory</c> and the policy the deployment files set.</summary>
public sealed class RedisResultStoreTests : IAsyncLifetime, IDisposable
{
    private const int MaxMemoryBytes = 4 * 1024 * 1024;

    private RedisServerProcess? _redis;
    private RedisResultStore? _store;

    private RedisResultStore Store => _store!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServerProcess.Start("--maxmemory", MaxMemoryBytes.ToString(CultureInfo.InvariantCulture), "--maxmemory-policy", "volatile-ttl");
        var redis = RedisConnection.Parse($"redis://127.0.0.1:{_redis.Port}");
        redis.AllowAdmin = true;
        var serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();
        _store = new RedisResultStore(redis, "mittts:test", serializer, TimeProvider.System);
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
        _redis?.Dispose();
        _redis = null;
    }

    [Fact]
    public async Task A_record_and_its_audio_come_back_exactly_without_the_text_and_go_when_removed()
    {
        var audio = Audio(1, 50_000);
        await Store.Put("t1", Record("t1"), audio, DateTimeOffset.UtcNow.AddHours(1));

        var record = await Store.GetRecord("t1");
        var read = await Store.GetAudio("t1");
        await Store.Remove("t1");

        Assert.Equal((ResultAudio.Kept, string.Empty, "en-male-1"), (record!.Audio, record.Request.Text, record.Request.VoiceId));
        Assert.Equal(audio.Data, read!.Data);
        Assert.Equal((audio.ContentType, audio.SampleRate, audio.DurationSeconds), (read.ContentType, read.SampleRate, read.DurationSeconds));
        Assert.Null(await Store.GetRecord("t1"));
        Assert.Null(await Store.GetAudio("t1"));
    }

    [Fact]
    public async Task Past_maxmemory_redis_stays_within_it_evicting_old_audio_before_records_and_the_newest_result_intact()
    {
        // 40 results of 256 KB in a 4 MB Redis: most audio must go. Audio keys carry the results' TTL, records twice it, so
        // volatile-ttl takes audio first; it samples keys, so now and then a record goes too (its task then reads as unknown).
        var expiresAt = DateTimeOffset.UtcNow.AddHours(1);
        for (var i = 0; i < 40; i++)
        {
            await Store.Put($"r{i}", Record($"r{i}"), Audio((byte)i, 256 * 1024), expiresAt.AddSeconds(i));
        }

        var records = new List<TaskSnapshot?>();
        for (var i = 0; i < 40; i++)
        {
            records.Add(await Store.GetRecord($"r{i}"));
        }

        var newest = await Store.GetAudio("r39");
        var statistics = await Store.GetStatistics();

        var kept = records.Count(r => r is not null);
        var audioKept = records.Count(r => r?.Audio == ResultAudio.Kept);
        Assert.NotEqual(ResultAudio.Kept, records[0]?.Audio);
        Assert.Equal(ResultAudio.Kept, records[39]!.Audio);
        Assert.Equal(Audio(39, 256 * 1024).Data, newest!.Data);
        Assert.True(audioKept <= 20, $"most audio was evicted ({audioKept} of 40 kept)");
        Assert.True(kept >= audioKept + 10, $"records outlive audio: {kept} records, {audioKept} with audio");
        Assert.Equal("redis", statistics.Kind);
        Assert.True(statistics.Evictions >= 20, $"evictions {statistics.Evictions}");
        Assert.True(statistics.MemoryBytes <= MaxMemoryBytes, $"used_memory {statistics.MemoryBytes}");
    }

    internal static TaskSnapshot Record(string taskId)
    {
        var now = DateTimeOffset.UtcNow;
        var request = new SynthesisRequest("Some text the store must not keep.", "en-male-1", AudioFormat.Wav, Priority.Normal, null, 1.0, 1.0);
        return new TaskSnapshot(taskId, SynthesisStatus.Completed, request, now, now, now, 1.0, null, 1.5, null, 0.1, now.AddHours(1));
    }

    internal static AudioResult Audio(byte seed, int bytes)
    {
        var data = new byte[bytes];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(seed + i * 7);
        }

        return new AudioResult(data, "audio/wav", "wav", 22050, bytes / 44100.0);
    }
}
