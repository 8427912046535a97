using System.Diagnostics;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Channels;

/// <summary>Text contexts (LLM tokens): fragments appended, cut into sentences, each sentence a task, and the context's end once its
/// last task ended. Each task's id is announced to its task grain ahead (as a socket does for its <c>synthesize</c> tasks): a client
/// that reads such a task over REST, through any gateway, the moment its <c>processing</c> status names it waits for the channel's
/// Track rather than find no task. A task whose id was not announced in time does not start until its Track is done.</summary>
public sealed partial class AudioChannelGrain
{
    async Task<TextAppendResult> IAudioChannelGrain.AppendText(string contextId, string text, TextContextOptions contextOptions, AnnouncedTaskId? spare)
    {
        ArgumentNullException.ThrowIfNull(contextOptions);
        if (spare is not null)
        {
            AdoptTextTaskId(spare);
        }

        if (!_contexts.TryGetValue(contextId, out var context))
        {
            var language = voices.Find(contextOptions.Template.VoiceId)?.Language;
            context = new TextContext(contextId, contextOptions, language);
            _contexts[contextId] = context;
            PrepareTextTaskId();
        }
        else if (context.Ended)
        {
            return new TextAppendResult([], ContextClosed(contextId));
        }

        var pieces = context.Append(text);
        MarkUnsaved();
        return await SubmitPieces(context, pieces);
    }

    async Task<TextAppendResult> IAudioChannelGrain.FlushText(string contextId, bool close)
    {
        if (!_contexts.TryGetValue(contextId, out var context))
        {
            return new TextAppendResult([], new TaskError("context_not_found", $"No open text context '{contextId}'."));
        }

        if (context.Ended)
        {
            return new TextAppendResult([], ContextClosed(contextId));
        }

        var rest = context.TakeRest();
        var result = await SubmitPieces(context, rest is null ? [] : [rest]);
        if (close)
        {
            context.Ended = true;
            MarkUnsaved();
            Pump();
        }

        return result;
    }

    private static TaskError ContextClosed(string contextId) =>
        new("context_closed", $"Text context '{contextId}' has ended; use a new context_id.");

    private async Task<TextAppendResult> SubmitPieces(TextContext context, IReadOnlyList<string> pieces)
    {
        var tasks = new List<SubmitResult>(pieces.Count);
        var discards = context.Discards;
        foreach (var piece in pieces)
        {
            if (context.Discards != discards)
            {
                // Interrupted while this append's sentences went in one by one (each waits for its dispatch): the rest were cut from
                // text the barge-in discarded, so they are dropped, not spoken after the acknowledgement.
                break;
            }

            var (taskId, announced) = TakeTextTaskId();
            var info = new ChannelTaskInfo(taskId, context.Options.RequestId, context.Id);
            var result = await SubmitItem(info, context.Options.Template with { Text = piece }, context, announced);
            tasks.Add(result);
            if (result is TaskRefused refused)
            {
                WithdrawTextTaskId(taskId, announced);
                return new TextAppendResult(tasks, refused.Error);
            }
        }

        return new TextAppendResult(tasks);
    }

    private bool EndFinishedContexts()
    {
        List<TextContext>? finished = null;
        foreach (var context in _contexts.Values)
        {
            if (context.Ended && context.OpenTasks == 0)
            {
                (finished ??= []).Add(context);
            }
        }

        if (finished is null)
        {
            return false;
        }

        foreach (var context in finished)
        {
            _contexts.Remove(context.Id);
            Emit(new ContextEndedEvent(0, context.Options.RequestId, context.Id), AudioPosition.None);
        }

        return true;
    }

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

    /// <summary>An id the caller announced becomes the next text task's when the channel has none announced (its socket announces one
    /// ahead anyway, so the session's first text task starts at once instead of waiting for its Track); otherwise it is withdrawn.</summary>
    private void AdoptTextTaskId(AnnouncedTaskId spare)
    {
        if (_nextTextTaskId is null && spare.Age < TaskAnnouncements.Fresh)
        {
            var at = Stopwatch.GetTimestamp() - (long)(spare.Age.TotalSeconds * Stopwatch.Frequency);
            _nextTextTaskId = (spare.TaskId, Task.FromResult(true), at);
            return;
        }

        Withdraw(spare.TaskId);
    }

    /// <summary>An id for a task cut from a text context, and whether its task grain has heard of it. One whose announcement is not
    /// done yet (the context's first piece, or pieces cut faster than a grain call) stays for the next piece, and this one goes
    /// unannounced: its start waits for its Track.</summary>
    private (string TaskId, bool Announced) TakeTextTaskId()
    {
        (string TaskId, bool Announced)? taken = null;
        if (_nextTextTaskId is { } next && next.Announced is { IsCompletedSuccessfully: true } done)
        {
            if (done.Result && TaskAnnouncements.IsFresh(next.At))
            {
                taken = (next.TaskId, true);
            }
            else if (done.Result)
            {
                Withdraw(next.TaskId);
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
            Withdraw(taskId);
        }
    }

    /// <summary>The channel is going: its id announced ahead will not be used.</summary>
    private void WithdrawNextTextTaskId(bool withdraw)
    {
        if (withdraw && _nextTextTaskId is { Announced: { IsCompletedSuccessfully: true, Result: true } } next)
        {
            Withdraw(next.TaskId);
        }

        _nextTextTaskId = null;
    }

    /// <summary>Tells an announced id's task grain that no task will come: reads waiting for it go on.</summary>
    private void Withdraw(string taskId) => GrainFactory.GetGrain<ITaskGrain>(taskId).Withdraw().Ignore();

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
