using System.Diagnostics;
using System.Globalization;

namespace MitTts.Grains.Results;

/// <summary>Where an embedded server spills results when <c>MIT_TTS_RESULTS_DIR</c> is not set: its own folder under
/// <c>mittts-results</c> in the temp folder, so servers (and test hosts) side by side never clean each other's files.</summary>
public static class ResultsDirectory
{
    /// <summary>A new folder for this store (<c>{pid}-{n}</c>), after deleting the folders of processes that are gone: a server that
    /// crashed leaves nothing behind past the next start.</summary>
    public static string ForThisProcess()
    {
        var root = Path.Combine(Path.GetTempPath(), "mittts-results");
        Directory.CreateDirectory(root);
        foreach (var folder in Directory.EnumerateDirectories(root))
        {
            var name = Path.GetFileName(folder);
            var dash = name.IndexOf('-', StringComparison.Ordinal);
            if (dash > 0 && int.TryParse(name.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && !IsRunning(pid))
            {
                TryDelete(folder);
            }
        }

        return Path.Combine(root, string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}-{Guid.NewGuid():N}"));
    }

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId)
        {
            return true;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // Another process is cleaning it too, or a file is held open: the next start tries again.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
