using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;
using MitTts.Grains.Voices;
using Orleans.Concurrency;
using Orleans.Placement;
using Orleans.Storage;

namespace MitTts.Grains.Channels;

/// <summary>A session's ordered audio channel: it owns the session's streamed tasks, pulls their audio from the synthesizers, and
/// sends it one task at a time (CRITICAL, HIGH, NORMAL; FIFO within a level), numbered and kept for the resume window.</summary>
/// <remarks>Reentrant: readers wait inside <see cref="IAudioChannelGrain.Listen"/> while the tasks' pulls run; every state change
/// happens between awaits. In durable (cluster) mode the channel saves its tasks, how far a reader has read each, and the marks of the
/// events it let readers have, before it lets them have those events; a reader in another process, which outlives this silo, may have
/// them before (each with a note it hands back when it listens again). A channel restored after its silo died knows where any reader
/// stands, starts each task again from there (cut at the byte), and numbers on with no gap and no repeat.</remarks>
[Reentrant]
[PreferLocalPlacement]
public sealed partial class AudioChannelGrain(
    [PersistentState("channel", StorageNames.Sessions)] IPersistentState<ChannelRecord> saved,
    IOptions<ChannelOptions> options,
    IOptions<SynthesisQueueOptions> scheduling,
    SynthesisDispatcher dispatcher,
    ILocalSiloDetails localSilo,
    VoiceCatalog voices,
    ChannelBuffers buffers,
    StreamStageMetrics stages,
    TimeProvider time,
    ILogger<AudioChannelGrain> logger)
    : Grain, IAudioChannelGrain
{
    // How many times a task whose synthesizer died is started again before it fails.
    private const int MaxRestarts = 5;

    private readonly ChannelTasks _tasks = new();
    private readonly Dictionary<string, TextContext> _contexts = new(StringComparer.Ordinal);

    // Each task's latest report (not a completion) that its task grain has not taken yet.
    private readonly Dictionary<string, TaskProgress> _unrecorded = new(StringComparer.Ordinal);
    private ResumeLog _log = null!;
    private int _listenerGeneration;
    private int _listeners;
    private IGrainTimer? _abandonTimer;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _saving = Task.CompletedTask;
    private bool _unsaved;

    // Deactivated: a save still retrying stops (another activation owns the channel's record now).
    private bool _gone;
    private bool _inLedger;
    private bool _admitted;

    // A restored channel waits for its first reader to learn which of the events it had let out that reader holds.
    private List<EventMark>? _restoredMarks;

    private string SessionId => this.GetPrimaryKeyString();

    private TimeSpan ResumeWindow => TimeSpan.FromSeconds(options.Value.ResumeWindowSeconds);

    private bool Durable => scheduling.Value.FailoverLedger;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _log = new ResumeLog(ResumeWindow, options.Value.ResumeBufferBytes, options.Value.MaxUnsentBytes);
        _admitted = buffers.TryAdmit();
        if (Durable && saved.RecordExists)
        {
            Restore(saved.State);

            // Nobody may come back: the tasks are cancelled after a resume window, as for any channel nobody listens to.
            _abandonTimer = this.RegisterGrainTimer(AbandonIfUnheard, new GrainTimerCreationOptions(ResumeWindow, Timeout.InfiniteTimeSpan) { Interleave = true });
        }

        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        buffers.Report(SessionId, 0);

        // A silo stopping: its grains are leaving too, and a call to one would be refused (logged as an error by Orleans); an id
        // announced ahead and not withdrawn holds a read of it for a few seconds at most.
        WithdrawNextTextTaskId(withdraw: reason.ReasonCode != DeactivationReasonCode.ShuttingDown);
        if (_admitted)
        {
            _admitted = false;
            buffers.Leave();
        }

        foreach (var item in _tasks.LineUp)
        {
            await item.Cancellation.CancelAsync();
        }

        if (Durable)
        {
            // Within the deactivation's time: a save that cannot land (storage down) must not hold the silo's shutdown.
            try
            {
                await _saving.WaitAsync(cancellationToken);
                if (_tasks.LineUp.Count > 0 || _contexts.Count > 0)
                {
                    MarkUnsaved();
                    await _saving.WaitAsync(cancellationToken);
                }
                else if (saved.RecordExists)
                {
                    await saved.ClearStateAsync(cancellationToken);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or InconsistentStateException)
            {
                LogLastSaveAbandoned(SessionId, e.Message);
            }
            finally
            {
                _gone = true;
            }
        }
    }

    Task<SubmitResult> IAudioChannelGrain.Submit(ChannelTaskInfo info, SynthesisRequest request)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(request);
        return SubmitItem(info, request, context: null);
    }

    Task<IReadOnlyList<ChannelTaskInfo>> IAudioChannelGrain.Interrupt(IReadOnlyList<string>? taskIds, string? contextId, bool announced, long heardThrough)
    {
        var stopped = new List<ChannelTaskInfo>();
        bool Wanted(ChannelTaskInfo task) => taskIds is not null ? taskIds.Contains(task.TaskId)
            : contextId is null || string.Equals(task.ContextId, contextId, StringComparison.Ordinal);

        foreach (var item in _tasks.LineUp.ToArray())
        {
            if (Wanted(item.Info) && item.Stoppable)
            {
                item.EndAnnounced = announced;
                Stop(item, SynthesisStatus.Cancelled, null);
                stopped.Add(item.Info);
            }
        }

        // Tasks done here whose events the reader has not had (whole sentences wait in the log for a cluster gateway): named to the
        // socket that interrupted, which drops and ends them (a cancel from elsewhere cannot take back an end already in the log).
        foreach (var unread in announced ? _log.UnreadTasks() : [])
        {
            if (Wanted(unread) && !stopped.Exists(t => t.TaskId == unread.TaskId))
            {
                stopped.Add(unread);
            }
        }

        SkipUnheard(stopped, heardThrough);
        foreach (var context in _contexts.Values)
        {
            if (taskIds is null && (contextId is null || context.Id == contextId))
            {
                context.Discard();
            }
        }

        Pump();
        return Task.FromResult<IReadOnlyList<ChannelTaskInfo>>(stopped);
    }

    /// <summary>Moves the audio of the task that holds the socket into the log, and picks the next one when it ends.</summary>
    private void Pump()
    {
        var emitted = false;
        while (true)
        {
            if (_tasks.TakeTurn() is not { } current)
            {
                break;
            }

            if (!current.Started)
            {
                if (current.StartAfter is not null && current.EndStatus is null)
                {
                    // Its record is on its way (StartWhenTracked pumps again once it is there); a stopped one ends at once.
                    break;
                }

                if (current.StartedAt is null && !(current.StartsAtOnce && current.Recording.IsCompleted) && current.Pending.Count == 0 && current.EndStatus is null)
                {
                    // `processing` once its synthesis starts (its first audio follows within a sentence), not while its job waits behind
                    // others for the engine: the socket is its, but nothing plays yet (JobStarted pumps again). A job with nothing ahead
                    // starts at once: its `processing` goes as soon as its task grain has its record (a client may read the task the moment it hears
                    // it), so a reader in another process has it before the audio is there.
                    break;
                }

                current.Started = true;
                Emit(new TaskStartedEvent(0, current.TaskId, current.Info.RequestId, current.Info.ContextId), AudioPosition.None);
                emitted = true;
                if (current.DeferredCompletion is { } completion)
                {
                    current.DeferredCompletion = null;
                    Record(current, completion);
                }
            }

            foreach (var (channelEvent, position) in current.Pending)
            {
                Emit(channelEvent, position);
                emitted = true;
                TimeFirstAudio(current, channelEvent);
            }

            current.Pending.Clear();
            if (current.EndStatus is not { } status)
            {
                break;
            }

            if (status == SynthesisStatus.Completed && !current.Recording.IsCompleted && current.EndWait is not { IsCompleted: true })
            {
                // A completed task ends when its record says so: a client that hears task_ended and asks /tasks/{id} (or its audio_url)
                // at once finds it completed with its file. Up to RecordWait: a record stuck on a dying silo does not hold the session.
                current.EndWait ??= WaitThenPump(current.Recording);
                break;
            }

            End(current, status);
            emitted = true;
        }

        emitted |= EndFinishedContexts();
        if (emitted)
        {
            // Durable: a reader that outlives this silo may have what it may have early now (EarlyFor); the others wait for the save.
            MarkUnsaved();
            Signal();
        }
    }

    private void End(ChannelItem item, SynthesisStatus status)
    {
        Emit(new TaskEndedEvent(0, item.TaskId, item.Info.RequestId, item.Info.ContextId, status, item.Error,
            status == SynthesisStatus.Completed ? 1.0 : item.Progress, item.DurationMs, item.EndAnnounced), AudioPosition.None);
        item.Ended = true;
        item.Whole = null;
        if (item.Request.Owner is { } owner)
        {
            GrainFactory.GetGrain<IRateLimitGrain>(RateLimitKeys.User(owner)).EndTask(item.TaskId).Ignore();
        }

        if (!Durable)
        {
            Forget(item);
        }
        else
        {
            // Kept (saved) until a reader has its end: a crash before that must send the rest again.
            _tasks.Leave(item);
        }

        if (item.Info.ContextId is { } contextId && _contexts.TryGetValue(contextId, out var context))
        {
            context.OpenTasks--;
        }
    }

    /// <summary>Ends a task here: its audio not yet sent leaves the channel, its synthesis stops, its record says how it ended, and its
    /// end goes out (now for a task still waiting its turn, after what was sent for the one holding the socket).</summary>
    private void Stop(ChannelItem item, SynthesisStatus status, TaskError? error)
    {
        item.Pending.Clear();
        item.DeferredCompletion = null;
        item.EndStatus = status;
        item.Error = error;
        item.Cancellation.Cancel();
        Record(item, new TaskProgress(status, error, Progress: item.Progress));
        if (!ReferenceEquals(item, _tasks.Current))
        {
            // Waiting its turn: it ends now, not when it would have come up (the task holding the socket ends in Pump). Its socket hears
            // the end (a cancel over REST, a failure), unless the socket itself interrupted it: then the acknowledgement said so.
            End(item, status);
            MarkUnsaved();
            Signal();
        }
    }

    private void Forget(ChannelItem item)
    {
        _tasks.Forget(item);
        _unsaved = true;
    }

    private void Signal()
    {
        _changed.TrySetResult();
        _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A reader has the event <paramref name="mark"/> describes: what a restored channel may count as read.</summary>
    private void Acknowledge(EventMark mark)
    {
        _log.Acknowledge(mark.Sequence);
        if (mark.TaskId is not { } taskId || !_tasks.TryGet(taskId, out var item))
        {
            return;
        }

        if (mark.Ends)
        {
            _tasks.Forget(taskId);
            _unsaved = true;
            return;
        }

        item.ReadStarted = true;
        if (!mark.Position.IsNone)
        {
            item.Read = mark.Position;
        }
    }

    Task<bool> IAudioChannelGrain.IsInUse()
    {
        // The abandon timer runs from the moment the last reader left until a resume window later.
        var inUse = _listeners > 0 || _abandonTimer is not null || _tasks.LineUp.Count > 0;
        if (!inUse && _contexts.Count == 0)
        {
            // Nobody has listened since it was activated (maybe by this question): it holds nothing, and leaves at once.
            DeactivateOnIdle();
        }

        return Task.FromResult(inUse);
    }

    private async Task AbandonIfUnheard(CancellationToken cancellationToken)
    {
        _abandonTimer?.Dispose();
        _abandonTimer = null;
        if (_listeners > 0)
        {
            return;
        }

        var unfinished = await EndEverything(cancellationToken);
        if (unfinished > 0)
        {
            LogAbandoned(SessionId, unfinished);
        }
    }

    Task IAudioChannelGrain.Close()
    {
        _abandonTimer?.Dispose();
        _abandonTimer = null;
        return EndEverything(CancellationToken.None);
    }

    /// <summary>Cancels what is unfinished, forgets every task, context and kept event, clears the saved state and leaves; returns how
    /// many tasks were cancelled.</summary>
    private async Task<int> EndEverything(CancellationToken cancellationToken)
    {
        var unfinished = 0;
        foreach (var item in _tasks.LineUp.ToArray())
        {
            if (item.Stoppable)
            {
                Stop(item, SynthesisStatus.Cancelled, null);
                unfinished++;
            }
        }

        _restoredMarks = null;
        _contexts.Clear();
        _tasks.Clear();
        _log.Clear();
        buffers.Report(SessionId, 0);
        if (Durable)
        {
            await _saving;
            await saved.ClearStateAsync(cancellationToken);
            if (_inLedger)
            {
                _inLedger = false;
                await GrainFactory.GetGrain<IJobLedgerGrain>(localSilo.Name).Remove(SessionId);
            }
        }

        DeactivateOnIdle();
        return unfinished;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: the channel's last save did not land before it deactivated ({Reason})")]
    private partial void LogLastSaveAbandoned(string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId} had no listener for its resume window: {Count} unfinished tasks cancelled")]
    private partial void LogAbandoned(string sessionId, int count);

}
