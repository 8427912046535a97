using System.Buffers.Binary;
using MitTts.Grains.Interfaces;

namespace MitTts.Tests.Results;

public sealed class ResultStoreConcurrencyTests : IDisposable
{
    private const int Workers = 8;
    private const int OperationsPerWorker = 500;
    private const int Keys = 16;
    private const long MemoryBudget = 40_000;
    private const long DiskBudget = 80_000;

    private readonly ResultStoreScratch _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Concurrent_readers_and_writers_only_ever_get_the_bytes_put_for_their_task_and_the_budgets_hold()
    {
        var store = _scratch.Open(MemoryBudget, DiskBudget);
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var workers = Enumerable.Range(0, Workers).Select(worker => Task.Run(async () =>
        {
            await start.Task;
            var random = new Random(worker);
            var reads = 0;
            for (var i = 0; i < OperationsPerWorker; i++)
            {
                var key = random.Next(Keys);
                var choice = random.Next(10);
                if (choice < 4)
                {
                    var audio = Stamped(key, version: worker * OperationsPerWorker + i, length: random.Next(1_000, 12_000));
                    await _scratch.Put(store, $"t{key}", audio);
                }
                else if (choice < 9)
                {
                    if (await store.GetAudio($"t{key}") is { } audio)
                    {
                        AssertStampedFor(key, audio);
                        reads++;
                    }
                }
                else
                {
                    await store.Remove($"t{key}");
                }
            }

            return reads;
        })).ToArray();

        start.SetResult();
        var reads = await Task.WhenAll(workers);

        Assert.True(reads.Sum() > 0, "some reads found audio");
        var statistics = await store.GetStatistics();
        Assert.InRange(statistics.MemoryBytes, 0, MemoryBudget);
        Assert.InRange(statistics.DiskBytes, 0, DiskBudget);
        Assert.True(statistics.Evictions > 0, "the budgets were tight enough to evict");
        // Every write has finished: what the store counts on disk is exactly what is there, and nothing is half written.
        Assert.Equal(_scratch.Files().Sum(file => new FileInfo(file).Length), statistics.DiskBytes);
        Assert.Empty(Directory.GetFiles(_scratch.Directory, "*.tmp"));
        for (var key = 0; key < Keys; key++)
        {
            if (await store.GetAudio($"t{key}") is { } audio)
            {
                AssertStampedFor(key, audio);
            }
        }
    }

    /// <summary>Audio that says whose it is: its key and version in front, then bytes that follow from them.</summary>
    private static AudioResult Stamped(int key, int version, int length)
    {
        var data = new byte[length];
        BinaryPrimitives.WriteInt32LittleEndian(data, key);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(4), version);
        new Random(HashCode.Combine(key, version)).NextBytes(data.AsSpan(8));
        return new AudioResult(data, "audio/wav", "wav", 22050, 1);
    }

    private static void AssertStampedFor(int key, AudioResult audio)
    {
        Assert.Equal(key, BinaryPrimitives.ReadInt32LittleEndian(audio.Data));
        var version = BinaryPrimitives.ReadInt32LittleEndian(audio.Data.AsSpan(4));
        Assert.Equal(Stamped(key, version, audio.Data.Length).Data, audio.Data);
    }
}
