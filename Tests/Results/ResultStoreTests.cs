using MitTts.Grains.Interfaces;
using static MitTts.Tests.Results.ResultStoreScratch;

namespace MitTts.Tests.Results;

public sealed class ResultStoreTests : IDisposable
{
    private readonly ResultStoreScratch _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData(1_000_000)]
    [InlineData(0)]
    public async Task Memory_and_disk_stay_within_their_budgets_after_every_put(long diskBudget)
    {
        var store = _scratch.Open(memoryBudget: 25_000, diskBudget: diskBudget);
        var random = new Random(7);
        for (var i = 0; i < 40; i++)
        {
            // Some audio is bigger than the whole memory budget: it goes straight to disk, or away.
            await _scratch.Put(store, $"t{i % 25}", Audio(i, random.Next(1_000, 30_000)));

            var statistics = await store.GetStatistics();
            Assert.InRange(statistics.MemoryBytes, 0, 25_000);
            Assert.InRange(statistics.DiskBytes, 0, diskBudget);
        }
    }

    [Fact]
    public async Task The_least_recently_used_audio_spills_first_and_a_read_makes_audio_recent()
    {
        var store = _scratch.Open();
        await _scratch.Put(store, "a", Audio(1));
        await _scratch.Put(store, "b", Audio(2));
        await store.GetAudio("a");

        await _scratch.Put(store, "c", Audio(3));

        var file = Assert.Single(_scratch.Files());
        Assert.True(File.ReadAllBytes(file).AsSpan().EndsWith(Audio(2).Data), "b, read least recently, is the audio on disk");
        Assert.Equal(ResultAudio.Kept, (await store.GetRecord("b"))!.Audio);
    }

    [Fact]
    public async Task Spilled_audio_reads_back_byte_exact_with_its_description()
    {
        var store = _scratch.Open();
        var original = Audio(1) with { ContentType = "audio/ogg; codecs=opus", FileExtension = "ogg", SampleRate = 48000, DurationSeconds = 3.25, CacheHit = true };
        await _scratch.Put(store, "a", original);
        await _scratch.Put(store, "b", Audio(2));
        await _scratch.Put(store, "c", Audio(3));
        Assert.Single(_scratch.Files());

        var read = await store.GetAudio("a");

        Assert.NotNull(read);
        Assert.NotSame(original, read);
        Assert.Equal(original.Data, read.Data);
        Assert.Equal(original with { Data = read.Data }, read);
    }

    [Fact]
    public async Task Over_the_disk_budget_the_least_recently_used_file_goes_and_its_record_says_expired()
    {
        // One audio fits in memory, two files on disk.
        var store = _scratch.Open(memoryBudget: 15_000, diskBudget: 25_000);
        foreach (var (taskId, seed) in new[] { ("a", 1), ("b", 2), ("c", 3), ("d", 4) })
        {
            await _scratch.Put(store, taskId, Audio(seed));
        }

        Assert.Null(await store.GetAudio("a"));
        Assert.Equal(ResultAudio.Expired, (await store.GetRecord("a"))!.Audio);
        Assert.Equal(Audio(2).Data, (await store.GetAudio("b"))!.Data);
        Assert.Equal(Audio(3).Data, (await store.GetAudio("c"))!.Data);
        Assert.Equal(Audio(4).Data, (await store.GetAudio("d"))!.Data);
        Assert.Equal(2, _scratch.Files().Length);
        Assert.Equal(1, (await store.GetStatistics()).Evictions);
    }

    [Fact]
    public async Task Audio_read_from_disk_outlives_older_audio_on_disk()
    {
        var store = _scratch.Open(memoryBudget: 15_000, diskBudget: 25_000);
        await _scratch.Put(store, "a", Audio(1));
        await _scratch.Put(store, "b", Audio(2));
        await _scratch.Put(store, "c", Audio(3));
        await store.GetAudio("a");

        await _scratch.Put(store, "d", Audio(4));

        Assert.NotNull(await store.GetAudio("a"));
        Assert.Equal(ResultAudio.Expired, (await store.GetRecord("b"))!.Audio);
    }

    [Fact]
    public async Task Audio_leaving_memory_is_evicted_rather_than_displace_more_recently_used_audio_on_disk()
    {
        // One audio in memory, one file on disk.
        var store = _scratch.Open(memoryBudget: 15_000, diskBudget: 12_000);
        await _scratch.Put(store, "a", Audio(1));
        await _scratch.Put(store, "b", Audio(2));
        await store.GetAudio("a");

        await _scratch.Put(store, "c", Audio(3));

        Assert.Equal(Audio(1).Data, (await store.GetAudio("a"))!.Data);
        Assert.Equal(ResultAudio.Expired, (await store.GetRecord("b"))!.Audio);
        Assert.Equal(Audio(3).Data, (await store.GetAudio("c"))!.Data);
    }

    [Fact]
    public async Task Without_a_disk_budget_audio_is_evicted_instead_of_spilled()
    {
        var store = _scratch.Open(diskBudget: 0);
        await _scratch.Put(store, "a", Audio(1));
        await _scratch.Put(store, "b", Audio(2));
        await _scratch.Put(store, "c", Audio(3));

        Assert.Null(await store.GetAudio("a"));
        Assert.Equal(ResultAudio.Expired, (await store.GetRecord("a"))!.Audio);
        Assert.Equal(ResultAudio.Kept, (await store.GetRecord("b"))!.Audio);
        Assert.Equal(Audio(3).Data, (await store.GetAudio("c"))!.Data);
        Assert.Empty(_scratch.Files());
        var statistics = await store.GetStatistics();
        Assert.Equal("memory", statistics.Kind);
        Assert.Equal(1, statistics.Evictions);
    }

    [Fact]
    public async Task A_spill_recreates_a_results_folder_deleted_under_the_store()
    {
        var store = _scratch.Open();
        Directory.Delete(_scratch.Directory, recursive: true);

        await _scratch.Put(store, "a", Audio(1));
        await _scratch.Put(store, "b", Audio(2));
        await _scratch.Put(store, "c", Audio(3));

        Assert.Single(_scratch.Files());
        Assert.Equal(Audio(1).Data, (await store.GetAudio("a"))!.Data);
    }

    [Fact]
    public async Task Audio_that_cannot_be_written_to_disk_is_evicted()
    {
        var store = _scratch.Open();
        Directory.Delete(_scratch.Directory, recursive: true);
        File.WriteAllText(_scratch.Directory, "a file where the folder was");

        await _scratch.Put(store, "a", Audio(1));
        await _scratch.Put(store, "b", Audio(2));
        await _scratch.Put(store, "c", Audio(3));

        Assert.Null(await store.GetAudio("a"));
        Assert.Equal(ResultAudio.Expired, (await store.GetRecord("a"))!.Audio);
        var statistics = await store.GetStatistics();
        Assert.Equal(0, statistics.DiskBytes);
        Assert.Equal(1, statistics.Evictions);
    }

    [Fact]
    public async Task Audio_is_gone_once_its_time_runs_out_and_its_record_says_so_for_as_long_again()
    {
        var store = _scratch.Open();
        await _scratch.Put(store, "a", Audio(1), _scratch.Time.GetUtcNow().AddSeconds(10));

        _scratch.Time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(ResultAudio.Kept, (await store.GetRecord("a"))!.Audio);
        Assert.NotNull(await store.GetAudio("a"));

        _scratch.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await store.GetAudio("a"));
        Assert.Equal(ResultAudio.Expired, (await store.GetRecord("a"))!.Audio);
        var afterAudio = await store.GetStatistics();

        _scratch.Time.Advance(TimeSpan.FromSeconds(10));
        Assert.Null(await store.GetRecord("a"));
        var statistics = await store.GetStatistics();
        Assert.Equal((1, 0, 1), (afterAudio.Records, afterAudio.AudioEntries, afterAudio.Expirations));
        Assert.True(afterAudio.MemoryBytes is > 0 and < 1000, $"only the record is held: {afterAudio.MemoryBytes} bytes");
        Assert.Equal(0, statistics.Records);
        Assert.Equal(0, statistics.MemoryBytes);
        Assert.Equal(2, statistics.Expirations);
    }

    [Fact]
    public async Task The_sweep_deletes_expired_results_and_their_files_without_any_read()
    {
        var store = _scratch.Open();
        await _scratch.Put(store, "a", Audio(1), _scratch.Time.GetUtcNow().AddSeconds(20));
        await _scratch.Put(store, "b", Audio(2));
        await _scratch.Put(store, "c", Audio(3));
        Assert.Single(_scratch.Files());

        _scratch.Time.Advance(TimeSpan.FromSeconds(29));
        Assert.Single(_scratch.Files());

        _scratch.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(_scratch.Files());
        var statistics = await store.GetStatistics();
        Assert.Equal(ResultAudio.Expired, (await store.GetRecord("a"))!.Audio);
        Assert.Equal(3, statistics.Records);
        Assert.Equal(0, statistics.DiskBytes);
        Assert.Equal(1, statistics.Expirations);
        Assert.Equal(0, statistics.Evictions);
    }

    [Fact]
    public async Task A_restarted_store_deletes_the_audio_files_an_earlier_process_left()
    {
        var before = _scratch.Open();
        await _scratch.Put(before, "a", Audio(1));
        await _scratch.Put(before, "b", Audio(2));
        await _scratch.Put(before, "c", Audio(3));
        before.Dispose();
        var halfWritten = Path.Combine(_scratch.Directory, "crashed.mtts.tmp");
        var foreign = Path.Combine(_scratch.Directory, "notes.txt");
        File.WriteAllBytes(halfWritten, [1, 2, 3]);
        File.WriteAllText(foreign, "not the store's");
        Assert.Single(_scratch.Files());

        var after = _scratch.Open();

        Assert.Empty(_scratch.Files());
        Assert.False(File.Exists(halfWritten));
        Assert.True(File.Exists(foreign), "the store deletes only files it writes, whatever folder it is given");
        Assert.Null(await after.GetRecord("a"));
        Assert.Equal(0, (await after.GetStatistics()).DiskBytes);
    }

    [Theory]
    [InlineData("deleted")]
    [InlineData("truncated")]
    [InlineData("garbage")]
    public async Task A_lost_or_damaged_file_reads_as_expired_audio_without_throwing(string damage)
    {
        var store = _scratch.Open();
        await _scratch.Put(store, "a", Audio(1));
        await _scratch.Put(store, "b", Audio(2));
        await _scratch.Put(store, "c", Audio(3));
        var file = Assert.Single(_scratch.Files());
        switch (damage)
        {
            case "deleted":
                File.Delete(file);
                break;
            case "truncated":
                File.WriteAllBytes(file, File.ReadAllBytes(file)[..5_000]);
                break;
            default:
                File.WriteAllBytes(file, Audio(9).Data);
                break;
        }

        Assert.Null(await store.GetAudio("a"));
        Assert.Equal(ResultAudio.Expired, (await store.GetRecord("a"))!.Audio);
        Assert.Empty(_scratch.Files());
        var statistics = await store.GetStatistics();
        Assert.Equal(0, statistics.DiskBytes);
        Assert.Equal(2, statistics.AudioEntries);
    }

    [Fact]
    public async Task The_stored_record_keeps_no_text_and_says_whether_its_audio_is_kept()
    {
        var store = _scratch.Open();
        var record = _scratch.Record("a", text: "Mi número de cuenta es 1234");
        await store.Put("a", record, Audio(1), _scratch.InOneHour);
        await store.Put("b", _scratch.Record("b", audio: ResultAudio.NotKept), null, _scratch.InOneHour);
        await store.Put("c", _scratch.Record("c"), null, _scratch.InOneHour);

        var stored = await store.GetRecord("a");

        Assert.NotNull(stored);
        Assert.Equal(string.Empty, stored.Request.Text);
        Assert.Equal(record with { Request = record.Request with { Text = string.Empty }, Audio = ResultAudio.Kept }, stored);
        Assert.Equal(ResultAudio.NotKept, (await store.GetRecord("b"))!.Audio);
        Assert.Equal(ResultAudio.None, (await store.GetRecord("c"))!.Audio);
        Assert.Null(await store.GetAudio("b"));
    }

    [Fact]
    public async Task Audio_in_memory_is_handed_out_without_a_copy()
    {
        var store = _scratch.Open();
        var audio = Audio(1);
        await _scratch.Put(store, "a", audio);

        Assert.Same(audio, await store.GetAudio("a"));
    }

    [Fact]
    public async Task Putting_a_task_again_replaces_it_and_removing_it_deletes_its_file()
    {
        var store = _scratch.Open();
        await _scratch.Put(store, "a", Audio(1));
        await _scratch.Put(store, "a", Audio(2));
        Assert.Equal(Audio(2).Data, (await store.GetAudio("a"))!.Data);

        await _scratch.Put(store, "b", Audio(3));
        await _scratch.Put(store, "c", Audio(4));
        Assert.Single(_scratch.Files());
        await store.Remove("a");

        Assert.Null(await store.GetRecord("a"));
        Assert.Null(await store.GetAudio("a"));
        Assert.Empty(_scratch.Files());
        var statistics = await store.GetStatistics();
        Assert.Equal(2, statistics.Records);
        Assert.Equal(0, statistics.DiskBytes);
        Assert.Equal(0, statistics.Evictions);
    }

    [Fact]
    public async Task Records_alone_over_the_memory_budget_evict_the_least_recently_used_records()
    {
        var store = _scratch.Open(memoryBudget: 1_000);
        for (var i = 0; i < 10; i++)
        {
            await _scratch.Put(store, $"t{i}", null);
        }

        var statistics = await store.GetStatistics();
        Assert.InRange(statistics.MemoryBytes, 1, 1_000);
        Assert.Equal(10 - statistics.Records, statistics.Evictions);
        Assert.Null(await store.GetRecord("t0"));
        Assert.NotNull(await store.GetRecord("t9"));
    }

    [Fact]
    public async Task Statistics_say_what_is_held_where_against_which_budget()
    {
        var store = _scratch.Open(memoryBudget: 25_000, diskBudget: 1_000_000);
        await _scratch.Put(store, "a", Audio(1));
        await _scratch.Put(store, "b", Audio(2));
        await _scratch.Put(store, "c", Audio(3));
        await _scratch.Put(store, "d", null);

        var statistics = await store.GetStatistics();

        Assert.Equal("memory+disk", statistics.Kind);
        Assert.Equal(4, statistics.Records);
        Assert.Equal(3, statistics.AudioEntries);
        Assert.InRange(statistics.MemoryBytes, 2 * AudioBytes + 4, 25_000);
        Assert.Equal(25_000, statistics.MemoryBudgetBytes);
        Assert.Equal(_scratch.Files().Sum(file => new FileInfo(file).Length), statistics.DiskBytes);
        Assert.Equal(1_000_000, statistics.DiskBudgetBytes);
        Assert.Equal(0, statistics.Evictions);
        Assert.Equal(0, statistics.Expirations);
    }
}
