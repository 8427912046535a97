using System.Diagnostics;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.WebSockets;

/// <summary>Hands out a socket's streamed task ids, each announced to its task grain (<see cref="ITaskGrain.Announce"/>) before the
/// client hears of it: from its <c>queued</c> status on, a REST call about the task, through any gateway, waits for the channel to take
/// it rather than find no task.</summary>
/// <remarks>A task's <c>queued</c> status waits for its announcement. In a cluster that is a new activation (directory, storage read),
/// slower than the first audio, so the next id is announced ahead, when the session opens and while the task before it is submitted:
/// the next <c>synthesize</c> finds its announcement done. One socket's messages are handled one at a time, so this is not
/// thread-safe.</remarks>
public sealed partial class TaskAnnouncer(IGrainFactory grains, ILogger logger, CancellationToken closing)
{
    // The longest a queued status waits for its announcement (a dying silo): the task runs anyway, REST finds it once the channel has it.
    private static readonly TimeSpan s_longest = TimeSpan.FromSeconds(2);

    private Announced? _next;

    /// <summary>A task id, with its grain and the announcement its <c>queued</c> status waits for (it never faults: false when the
    /// grain did not hear of the task).</summary>
    public readonly record struct Announced(string TaskId, ITaskGrain Grain, Task<bool> Done, long At);

    /// <summary>Announces the next id now, unless one is ready: when the session opens, and after each task is submitted.</summary>
    public void Prepare() => _next ??= Announce();

    /// <summary>The next task id, announced (or being announced); call <see cref="Prepare"/> once the task is on its way.</summary>
    public Announced Take()
    {
        var taken = _next is { } next && TaskAnnouncements.IsFresh(next.At) ? next : Announce();
        if (_next is { } stale && stale.TaskId != taken.TaskId)
        {
            Withdraw(stale);
        }

        _next = null;
        return taken;
    }

    /// <summary>The id announced ahead, for the session's channel to name its first text task with (<see
    /// cref="IAudioChannelGrain.AppendText"/>), if its announcement is done; call <see cref="Prepare"/> after.</summary>
    public AnnouncedTaskId? HandOver()
    {
        if (_next is { Done: { IsCompletedSuccessfully: true, Result: true } } next && TaskAnnouncements.IsFresh(next.At))
        {
            _next = null;
            return new AnnouncedTaskId(next.TaskId, Stopwatch.GetElapsedTime(next.At));
        }

        return null;
    }

    /// <summary>The socket is going: the id announced ahead will not be used.</summary>
    public void Close()
    {
        if (_next is { } next)
        {
            _next = null;
            Withdraw(next);
        }
    }

    /// <summary>A taken id the channel never got (refused, or the cluster did not answer): reads waiting for it go on. Sent only once
    /// the announcement is done, so the two never cross on their way to the grain (a withdrawal overtaken by its announcement would
    /// leave reads waiting).</summary>
    public static void Withdraw(Announced task)
    {
        if (task.Done.IsCompleted)
        {
            task.Grain.Withdraw().Ignore();
            return;
        }

        _ = WithdrawAfter(task);
    }

    private static async Task WithdrawAfter(Announced task)
    {
        await task.Done;
        task.Grain.Withdraw().Ignore();
    }

    private Announced Announce()
    {
        var taskId = "task_" + Guid.NewGuid().ToString("N");
        var grain = grains.GetGrain<ITaskGrain>(taskId);
        return new Announced(taskId, grain, Announce(grain), Stopwatch.GetTimestamp());
    }

    private async Task<bool> Announce(ITaskGrain grain)
    {
        try
        {
            await grain.Announce().WaitAsync(s_longest, closing);
            return true;
        }
        catch (OperationCanceledException) when (closing.IsCancellationRequested)
        {
            // The socket is gone: no one will hear of the task.
        }
        catch (Exception e) when (Hosting.ClusterHealth.IsClusterFailure(e))
        {
            // Queued goes out anyway: the task still runs, and REST finds it once its channel has it.
            LogAnnounceFailed(e);
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A task grain did not hear of a new streamed task in time; its queued status goes out without it")]
    private partial void LogAnnounceFailed(Exception exception);
}
