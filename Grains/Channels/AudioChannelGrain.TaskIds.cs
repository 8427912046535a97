using System.Diagnostics;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Channels;

/// <summary>The ids of the tasks the channel cuts from text contexts, each announced to its task grain ahead (as a socket does for its
/// <c>synthesize</c> tasks): a client that reads such a task over REST, through any gateway, the moment its <c>processing</c> status
/// names it waits for the channel's Track rather than find no task. A task whose id was not announced in time does not start until
/// its Track is done.</summary>
public sealed partial class AudioChannelGrain
{
    // An id announced this long ago is announced again: an announced task grain keeps its idle activation for 30 minutes.
    private static readonly TimeSpan s_announcedFresh = TimeSpan.FromMinutes(25);

    // The next text task's id, announced (or being announced); none until the channel's first text context opens.
    private (string TaskId, Task<bool> Announced, long At)? _nextTextTaskId;

    /// <summary>Announces the next text task's id unless one is on its way: when a context opens, and as each id is taken.</summary>
    private void PrepareTextTaskId()
    {
        if (_nextTextTaskId is null)
        {
            var taskId = NewTaskId();
            _nextTextTaskId = (taskId, AnnounceAhead(taskId), Stopwatch.GetTimestamp());
        }
    }

    /// <summary>An id for a task cut from a text context, and whether its task grain has heard of it. One whose announcement is not
    /// done yet (the context's first piece, or pieces cut faster than a grain call) stays for the next piece, and this one goes
    /// unannounced: its start waits for its Track.</summary>
    private (string TaskId, bool Announced) TakeTextTaskId()
    {
        (string TaskId, bool Announced)? taken = null;
        if (_nextTextTaskId is { } next && next.Announced is { IsCompletedSuccessfully: true } done)
        {
            if (done.Result && Stopwatch.GetElapsedTime(next.At) < s_announcedFresh)
            {
                taken = (next.TaskId, true);
            }
            else if (done.Result)
            {
                GrainFactory.GetGrain<ITaskGrain>(next.TaskId).Withdraw().Ignore();
            }

            _nextTextTaskId = null;
        }

        PrepareTextTaskId();
        return taken ?? (NewTaskId(), false);
    }

    /// <summary>A taken text task the channel did not keep (refused): a read waiting for it goes on.</summary>
    private void WithdrawTextTaskId(string taskId, bool announced)
    {
        if (announced)
        {
            GrainFactory.GetGrain<ITaskGrain>(taskId).Withdraw().Ignore();
        }
    }

    /// <summary>The channel is going: its id announced ahead will not be used.</summary>
    private void WithdrawNextTextTaskId()
    {
        if (_nextTextTaskId is { Announced: { IsCompletedSuccessfully: true, Result: true } } next)
        {
            GrainFactory.GetGrain<ITaskGrain>(next.TaskId).Withdraw().Ignore();
        }

        _nextTextTaskId = null;
    }

    private async Task<bool> AnnounceAhead(string taskId)
    {
        try
        {
            await GrainFactory.GetGrain<ITaskGrain>(taskId).Announce();
            return true;
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            // The id is used unannounced, its start held for its Track.
            return false;
        }
    }
}
