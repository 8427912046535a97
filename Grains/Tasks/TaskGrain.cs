using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Results;
using MitTts.Grains.Synthesis;

namespace MitTts.Grains.Tasks;

/// <summary>One synthesis task while it runs; once it ends, its record (and the audio it was asked to keep) goes to the result store.</summary>
/// <remarks>A REST task's grain owns its job: it pulls the job from a synthesizer (<see cref="ISynthesizerGrain.Synthesize"/>) and,
/// when that synthesizer's silo dies, starts it again on another device. A streamed task belongs to its session's channel, which
/// tells this grain where the task stands, and its record is never written: the channel is durable and owns the job, and each of its
/// reports carries enough to rebuild the record, so a write would only put Redis on the submit path. A REST task's record is written at
/// submit (a survivor takes the job over from it); its progress and processing state stay in memory: after a crash an unfinished task
/// starts over anyway. A finished task's result is stored once, its grain state (if written) cleared once the shared store has the
/// result (not while it is only held in this silo, written behind), and the grain deactivates a few seconds later: it holds no audio,
/// and reads of a finished task are answered from the <see cref="IResultStore"/>, which bounds the bytes kept and expires them.</remarks>
public sealed partial class TaskGrain(
    [PersistentState("task", StorageNames.Tasks)] IPersistentState<TaskRecord> task,
    IResultStore results,
    SynthesisDispatcher dispatcher,
    ILocalSiloDetails localSilo,
    IOptions<TtsOptions> options,
    IOptions<SynthesisQueueOptions> scheduling,
    TimeProvider time,
    ILogger<TaskGrain> logger)
    : Grain, ITaskGrain, IDisposable
{
    // How long a finished task's grain stays, to hand audio that was not kept to a caller that asked for the task a moment ago.
    private static readonly TimeSpan s_handOff = TimeSpan.FromSeconds(10);

    // How many times a job whose device died is started again before the task fails.
    private const int MaxRestarts = 5;

    private TaskCompletionSource<TaskOutcome> _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource? _job;
    private string? _ledgerNode;

    // The task's end, while this activation lasts; its audio only until a waiter has taken it.
    private TaskOutcome? _outcome;

    // The ended task on its way to the result store.
    private Task _storing = Task.CompletedTask;
    private bool _stored;
    private bool _stateToClear;
    private IGrainTimer? _leaving;

    // A streamed task's record, held in memory only (never written, so RecordExists stays false).
    private bool _inMemory;
    private bool _reportedSlow;

    /// <summary>How long a task may go unfinished before a status read logs it as slow.</summary>
    private static readonly TimeSpan s_slowTask = TimeSpan.FromSeconds(60);

    private string TaskId => this.GetPrimaryKeyString();

    public void Dispose() => _job?.Dispose();

    private TaskRecord State => task.State;

    private bool Exists => (task.RecordExists || _inMemory) && State.Request is not null;

    // Ended in this activation (its grain state may be cleared by now), or a record that says so.
    private bool IsFinished => _outcome is not null || State.Status is SynthesisStatus.Completed or SynthesisStatus.Error or SynthesisStatus.Cancelled;

    /// <summary>Whether the task is running here: it has a record and no end (a finished task lives in the result store).</summary>
    private bool IsRunning => Exists && !IsFinished && _outcome is null;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (IsRunning && State.Request is { Streamed: false })
        {
            if (await EndedEarlier(cancellationToken))
            {
                // It ended and its result is stored, but its state was not cleared (the store went away then): nothing to run again.
                task.State = new TaskRecord();
                await ClearState();
                return;
            }

            // An unfinished REST task activating again lost its owner with a silo: pick the job up, after activation. Its device may
            // be alive (the job there is superseded) or dead (the dispatcher skips it): nothing to avoid.
            this.RegisterGrainTimer(_ => { StartPulling(avoidDevice: null); return Task.CompletedTask; }, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan));
        }
    }

    /// <summary>Whether the result store already has this task's end (an unfinished-looking record whose clear did not land).</summary>
    private async Task<bool> EndedEarlier(CancellationToken cancellationToken)
    {
        try
        {
            return await results.GetRecord(TaskId, cancellationToken) is not null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Unknown: run it, as before the store was asked (a result stored twice is the same result).
            return false;
        }
    }

    async Task<SubmitResult> ITaskGrain.Submit(SynthesisRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_outcome is { } ended)
        {
            return new TaskAccepted(TaskId, ended.Task);
        }

        if (Exists)
        {
            return new TaskAccepted(TaskId, await Snapshot());
        }

        task.State = new TaskRecord { Request = request, Status = SynthesisStatus.Queued, CreatedAt = time.GetUtcNow() };
        var session = request.SessionId is { } sessionId ? GrainFactory.GetGrain<ISessionGrain>(sessionId) : null;
        var cancellation = new CancellationTokenSource();
        DispatchedJob started;
        try
        {
            var preferredNode = session is null ? null : await session.GetNode();
            started = await dispatcher.Start(new SynthesisJob(TaskId, request, State.CreatedAt), preferredNode, avoidDevice: null, cancellation.Token);
        }
        catch (Exception e)
        {
            LogDispatchFailed(TaskId, e);
            await Finish(SynthesisStatus.Error, new TaskError("dispatch_failed", "No synthesizer accepted the task: " + e.Message));
            return new TaskAccepted(TaskId, _outcome!.Task);
        }

        if (started.Refusal is { } refusal)
        {
            // Refused work is not a task: nothing is stored, and the client retries after the hinted delay.
            task.State = new TaskRecord();
            return new TaskRefused(TaskId, refusal);
        }

        State.DeviceKey = started.Queued!.DeviceKey;
        State.EstimatedSeconds = started.Queued.EstimatedSeconds;
        var accepted = Snapshot(started.Queued.Position);
        try
        {
            await task.WriteStateAsync();
        }
        catch
        {
            // Not stored, so not a task: the job stops (disposing its enumeration cancels it) and the caller hears the failure.
            await cancellation.CancelAsync();
            await SynthesisDispatcher.DisposeQuietly(started.Events!);
            cancellation.Dispose();
            task.State = new TaskRecord();
            throw;
        }

        // Pulled only once the record exists: a job that ends within the write would otherwise find no task to complete.
        _job = cancellation;
        _ = Pull(started.Events!, cancellation.Token);
        await EnterLedger();
        if (session is not null)
        {
            await session.AddTask(TaskId);
        }

        return new TaskAccepted(TaskId, accepted);
    }

    Task ITaskGrain.PickUp() => Task.CompletedTask;

    async Task<TaskSnapshot?> ITaskGrain.GetSnapshot()
    {
        await AwaitAnnounced();
        if (IsRunning && State.Request is { Streamed: true, SessionId: { } sessionId })
        {
            await TakeUnrecordedProgress(sessionId);
        }

        if (!IsRunning)
        {
            return await EndedRecord();
        }

        // A task asked about long after it was made and still not done says so once, with where it waits: a stuck task is found
        // in the log, not only by the client that gave up on it.
        if (!_reportedSlow && time.GetUtcNow() - State.CreatedAt > s_slowTask)
        {
            _reportedSlow = true;
            LogSlowTask(TaskId, State.Status, State.DeviceKey ?? "?", (time.GetUtcNow() - State.CreatedAt).TotalSeconds, State.Progress);
        }

        return await Snapshot();
    }

    async Task<AudioResult?> ITaskGrain.GetAudio()
    {
        if (IsRunning)
        {
            return null;
        }

        await _storing;
        var audio = await results.GetAudio(TaskId);
        LeaveIfIdle();
        return audio;
    }

    async Task<TaskSnapshot?> ITaskGrain.WaitForCompletion() => (await WaitForEnd())?.Task;

    Task<TaskOutcome?> ITaskGrain.WaitForResult() => WaitForEnd();

    private async Task<TaskOutcome?> WaitForEnd()
    {
        if (!IsRunning && _outcome is null)
        {
            // Ended before this activation: the result store has it, or no one does.
            var record = await EndedRecord();
            return record is null ? null : new TaskOutcome(record, record.Audio == ResultAudio.Kept ? await results.GetAudio(TaskId) : null);
        }

        var outcome = await _finished.Task;
        if (outcome.Audio is not null && _outcome is { Audio: not null } held)
        {
            // Handed over: audio that was not kept is the caller's now, and kept audio is read from the store by anyone else.
            _outcome = held with { Audio = null };
            _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
            _finished.SetResult(_outcome);
        }

        return outcome;
    }

    async Task<bool> ITaskGrain.Cancel()
    {
        await AwaitAnnounced();
        if (!IsRunning)
        {
            return false;
        }

        var request = State.Request!;
        await Finish(SynthesisStatus.Cancelled, null);
        if (_job is { } job)
        {
            // Ends the pull, which cancels the job on its synthesizer, queued or running.
            _job = null;
            job.Cancel();
        }

        if (request is { Streamed: true, SessionId: { } sessionId })
        {
            // The channel owns the job: it drops the task's audio and stops its synthesis.
            await GrainFactory.GetGrain<IAudioChannelGrain>(sessionId).Interrupt([TaskId], null);
        }

        return true;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (IsRunning && reason.ReasonCode == DeactivationReasonCode.ShuttingDown && State.Request is { Streamed: false } && !scheduling.Value.FailoverLedger)
        {
            // The silo stops with the task unfinished: it says so rather than wait for an owner that will not come back (cluster
            // mode: the ledger hands it to a survivor, which picks the job up).
            await Finish(SynthesisStatus.Cancelled, TaskError.ServerStopping);
        }
    }

    /// <summary>A task that ended: from this activation while it lasts, else from the result store (null when unknown or expired).</summary>
    private async Task<TaskSnapshot?> EndedRecord()
    {
        await _storing;
        if (_outcome is { } outcome && !_stored)
        {
            // Never stored (the process stops, or the store failed): only this activation knows it.
            return outcome.Task;
        }

        var record = await results.GetRecord(TaskId);
        LeaveIfIdle();
        return record;
    }

    /// <summary>An activation that only served a finished task from the store leaves at once: it holds nothing worth keeping.</summary>
    private void LeaveIfIdle()
    {
        if (_outcome is null && !Exists)
        {
            DeactivateOnIdle();
        }
    }

    private async Task<TaskSnapshot> Snapshot()
    {
        // Taken before the await: the pull interleaves with it and may end the task (and clear its state) meanwhile.
        var snapshot = Snapshot(null);
        if (IsFinished || State.DeviceKey is not { } deviceKey)
        {
            return snapshot;
        }

        var position = await GrainFactory.GetGrain<ISynthesizerGrain>(deviceKey).GetQueuePosition(TaskId);
        return _outcome?.Task ?? snapshot with { QueuePosition = position };
    }

    private TaskSnapshot Snapshot(int? queuePosition) => new(
        TaskId,
        State.Status,
        State.Request!,
        State.CreatedAt,
        State.StartedAt,
        State.CompletedAt,
        State.Status == SynthesisStatus.Completed ? 1.0 : State.Progress,
        State.Error,
        State.AudioDurationSeconds,
        IsFinished ? null : queuePosition,
        State.EstimatedSeconds,
        State.ExpiresAt,
        State.CacheHit,
        State.DeviceKey,
        AudioSampleRate: State.AudioSampleRate);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} is still {Status} on {DeviceKey} after {Seconds:0} s (progress {Progress:0.00})")]
    private partial void LogSlowTask(string taskId, SynthesisStatus status, string deviceKey, double seconds, double progress);
}
