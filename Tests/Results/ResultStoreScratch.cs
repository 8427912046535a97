using Microsoft.Extensions.Time.Testing;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Results;

namespace MitTts.Tests.Results;

/// <summary>A result store test's own folder and clock, and results to put in it.</summary>
internal sealed class ResultStoreScratch : IDisposable
{
    /// <summary>Audio of the tests is this big; a record costs a few hundred bytes more, so a budget of 2.5 audios holds two.</summary>
    public const int AudioBytes = 10_000;

    private readonly List<TieredResultStore> _stores = [];

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "mittts-result-store-tests", Guid.NewGuid().ToString("N"));

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public DateTimeOffset InOneHour => Time.GetUtcNow().AddHours(1);

    public TieredResultStore Open(long memoryBudget = 25_000, long diskBudget = 1_000_000)
    {
        var store = new TieredResultStore(
            new ResultStoreOptions
            {
                MemoryBudgetBytes = memoryBudget,
                DiskBudgetBytes = diskBudget,
                Directory = Directory,
                SweepInterval = TimeSpan.FromSeconds(30),
            },
            Time);
        _stores.Add(store);
        return store;
    }

    /// <summary>The store's finished files (not the temporary ones of writes in flight).</summary>
    public string[] Files() =>
        System.IO.Directory.Exists(Directory) ? System.IO.Directory.GetFiles(Directory, "*.mtts") : [];

    public TaskSnapshot Record(string taskId, string text = "Hola, ¿qué tal?", ResultAudio audio = ResultAudio.None)
    {
        var now = Time.GetUtcNow();
        var request = new SynthesisRequest(text, "es-female-1", AudioFormat.Wav, Priority.Normal, "session-1", 1, 1);
        return new TaskSnapshot(taskId, SynthesisStatus.Completed, request, now, now, now, 1, null, 1.5, null, 0, InOneHour, Audio: audio);
    }

    /// <summary>Audio whose bytes depend on <paramref name="seed"/> only, so a test can tell whose bytes it got back.</summary>
    public static AudioResult Audio(int seed, int length = AudioBytes)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return new AudioResult(data, "audio/wav", "wav", 22050, length / 44100.0);
    }

    public async Task Put(IResultStore store, string taskId, AudioResult? audio, DateTimeOffset? expiresAt = null) =>
        await store.Put(taskId, Record(taskId), audio, expiresAt ?? InOneHour);

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        else if (File.Exists(Directory))
        {
            File.Delete(Directory);
        }
    }
}
