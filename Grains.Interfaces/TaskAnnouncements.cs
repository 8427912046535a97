using System.Diagnostics;

namespace MitTts.Grains.Interfaces;

/// <summary>How long an announced task id (<see cref="ITaskGrain.Announce"/>) stays usable: the task grain keeps an announced
/// activation from collection for <see cref="Kept"/>, and whoever announced ahead announces again after <see cref="Fresh"/>.</summary>
public static class TaskAnnouncements
{
    /// <summary>How long an announced, untracked task grain stays active while idle.</summary>
    public static readonly TimeSpan Kept = TimeSpan.FromMinutes(30);

    /// <summary>How long an id announced ahead may still be used: a margin under <see cref="Kept"/>.</summary>
    public static readonly TimeSpan Fresh = TimeSpan.FromMinutes(25);

    /// <summary>Whether an id announced at <see cref="Stopwatch"/> timestamp <paramref name="announcedAt"/> may still be used.</summary>
    public static bool IsFresh(long announcedAt) => Stopwatch.GetElapsedTime(announcedAt) < Fresh;
}
