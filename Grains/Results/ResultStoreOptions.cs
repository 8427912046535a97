using Microsoft.Extensions.Configuration;

namespace MitTts.Grains.Results;

/// <summary>Budgets and place of the embedded server's result store (<see cref="TieredResultStore"/>), in the <c>tts</c> section.</summary>
public sealed class ResultStoreOptions
{
    public const string Section = "tts";

    /// <summary>Most bytes of records and audio held in memory; beyond it the least recently used audio goes to disk.</summary>
    [ConfigurationKeyName("result_store_max_bytes")]
    public long MemoryBudgetBytes { get; set; } = DefaultMemoryBudget();

    /// <summary>Most bytes of audio files on disk; beyond it the least recently used are deleted. 0 keeps audio in memory only.</summary>
    [ConfigurationKeyName("result_store_disk_max_bytes")]
    public long DiskBudgetBytes { get; set; } = 4L * 1024 * 1024 * 1024;

    /// <summary>Folder of the audio files; the store owns it and deletes its files (left by an earlier process) when it starts.</summary>
    [ConfigurationKeyName("result_store_dir")]
    public string Directory { get; set; } = DefaultDirectory();

    /// <summary>How often expired results are removed (reads never see them, but their memory and files wait for this).</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>128 MiB, or a sixteenth of the memory this process may use when that is less (a small container).</summary>
    public static long DefaultMemoryBudget()
    {
        // Small on purpose: past it, results go to files, which the OS page cache keeps hot without counting them in the process.
        const long ceiling = 128L * 1024 * 1024;
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return available > 0 ? Math.Min(ceiling, available / 16) : ceiling;
    }

    /// <summary><c>mittts-results</c> in the system's temporary folder; the host may put <c>MIT_TTS_RESULTS_DIR</c> in its place.</summary>
    public static string DefaultDirectory() => Path.Combine(Path.GetTempPath(), "mittts-results");
}
