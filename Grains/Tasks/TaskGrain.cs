using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;

namespace MitTts.Grains.Tasks;

/// <summary>One synthesis task: its lifecycle, its result, and the expiry of both.</summary>
/// <remarks>A REST task's grain owns its job: it pulls the job from a synthesizer (<see cref="ISynthesizerGrain.Synthesize"/>) and,
/// when that synthesizer's silo dies, starts it again on another device. A streamed task belongs to its session's channel, which
/// tells this grain where the task stands. Progress and the processing state stay in memory: after a crash an unfinished task starts
/// over anyway, so writing them would buy nothing.</remarks>
public sealed partial class TaskGrain(
    [PersistentState("task", StorageNames.Tasks)] IPersistentState<TaskRecord> task,
    [PersistentState("audio", StorageNames.Audio)] IPersistentState<AudioRecord> audio,
    SynthesisDispatcher dispatcher,
    ILocalSiloDetails localSilo,
    IOptions<TtsOptions> options,
    IOptions<SynthesisQueueOptions> scheduling,
    TimeProvider time,
    ILogger<TaskGrain> logger)
    : Grain, ITaskGrain, IRemindable, IDisposable
{
    private const string ExpiryReminder = "expire";

    // How many times a job whose device died is started again before the task fails.
    private const int MaxRestarts = 5;

    private TaskCompletionSource<TaskSnapshot?> _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource? _job;
    private string? _ledgerNode;

    private string TaskId => this.GetPrimaryKeyString();

    public void Dispose() => _job?.Dispose();

    private TaskRecord State => task.State;

    private bool Exists => task.RecordExists && State.Request is not null;

    private bool IsFinished => State.Status is SynthesisStatus.Completed or SynthesisStatus.Error or SynthesisStatus.Cancelled;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Exists && !IsFinished && State.Request is { Streamed: false })
        {
            // An unfinished REST task activating again lost its owner with a silo: pick the job up, after activation. Its device may
            // be alive (the job there is superseded) or dead (the dispatcher skips it): nothing to avoid.
            this.RegisterGrainTimer(_ => { StartPulling(avoidDevice: null); return Task.CompletedTask; }, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan));
        }

        return Task.CompletedTask;
    }

    async Task<SubmitResult> ITaskGrain.Submit(SynthesisRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (await ExpireIfDue() is false && Exists)
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
            return new TaskAccepted(TaskId, Snapshot(null));
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

    async Task ITaskGrain.Track(SynthesisRequest request, string deviceKey)
    {
        ArgumentNullException.ThrowIfNull(request);
        task.State = new TaskRecord { Request = request, Status = SynthesisStatus.Queued, CreatedAt = time.GetUtcNow(), DeviceKey = deviceKey };
        await task.WriteStateAsync();
    }

    async Task ITaskGrain.Record(TaskProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        if (!Exists || IsFinished)
        {
            return;
        }

        switch (progress.Status)
        {
            case SynthesisStatus.Queued:
                State.DeviceKey = progress.DeviceKey ?? State.DeviceKey;
                break;
            case SynthesisStatus.Processing:
                State.Status = SynthesisStatus.Processing;
                State.StartedAt ??= time.GetUtcNow();
                State.DeviceKey = progress.DeviceKey ?? State.DeviceKey;
                break;
            case SynthesisStatus.Completed when progress.Audio is { } result:
                await Complete(result);
                break;
            default:
                await Finish(progress.Status, progress.Error);
                break;
        }
    }

    async Task<TaskSnapshot?> ITaskGrain.GetSnapshot()
    {
        if (await ExpireIfDue() || !Exists)
        {
            return null;
        }

        return await Snapshot();
    }

    async Task<AudioResult?> ITaskGrain.GetAudio()
    {
        if (await ExpireIfDue() || !Exists)
        {
            return null;
        }

        return audio.State.Audio;
    }

    Task<TaskSnapshot?> ITaskGrain.WaitForCompletion()
    {
        if (!Exists)
        {
            return Task.FromResult<TaskSnapshot?>(null);
        }

        return IsFinished ? Task.FromResult<TaskSnapshot?>(Snapshot(null)) : _finished.Task;
    }

    async Task<bool> ITaskGrain.Cancel()
    {
        if (!Exists || IsFinished)
        {
            return false;
        }

        await Finish(SynthesisStatus.Cancelled, null);
        if (_job is { } job)
        {
            // Ends the pull, which cancels the job on its synthesizer, queued or running.
            _job = null;
            job.Cancel();
        }

        if (State.Request is { Streamed: true, SessionId: { } sessionId })
        {
            // The channel owns the job: it drops the task's audio and stops its synthesis.
            await GrainFactory.GetGrain<IAudioChannelGrain>(sessionId).Interrupt([TaskId], null);
        }

        return true;
    }

    private async Task Complete(AudioResult result)
    {
        if (!Exists || IsFinished)
        {
            return;
        }

        audio.State.Audio = result;
        await audio.WriteStateAsync();
        State.AudioDurationSeconds = result.DurationSeconds;
        State.CacheHit = result.CacheHit;
        await Finish(SynthesisStatus.Completed, null);
    }

    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == ExpiryReminder)
        {
            await ExpireIfDue();
        }
    }

    private async Task Finish(SynthesisStatus status, TaskError? error)
    {
        var now = time.GetUtcNow();
        State.Status = status;
        State.Error = error;
        State.CompletedAt = now;
        State.ExpiresAt = now + TimeSpan.FromSeconds(options.Value.ResultTtlSeconds);
        _finished.TrySetResult(Snapshot(null));
        if (error != TaskError.ServerStopping || scheduling.Value.FailoverLedger)
        {
            // One process stopping: its in-memory storage goes with it (and may already be gone), so there is nothing to write.
            await task.WriteStateAsync();
        }

        if (State.Request is { Streamed: false, SessionId: { } sessionId })
        {
            await GrainFactory.GetGrain<ISessionGrain>(sessionId).TaskFinished(TaskId);
        }

        if (_ledgerNode is { } node)
        {
            _ledgerNode = null;
            await GrainFactory.GetGrain<IJobLedgerGrain>(node).Remove(TaskId);
        }

        // While active a timer expires the result; a reminder takes over only if the grain deactivates first (OnDeactivateAsync),
        // which keeps the reminder service off the path of every task.
        this.RegisterGrainTimer(ExpireIfDue, new GrainTimerCreationOptions(State.ExpiresAt.Value - now + TimeSpan.FromMilliseconds(10), Timeout.InfiniteTimeSpan));
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (Exists && !IsFinished && reason.ReasonCode == DeactivationReasonCode.ShuttingDown && State.Request is { Streamed: false })
        {
            // The silo stops with the task unfinished: it says so rather than wait for an owner that will not come back (cluster
            // mode: the ledger hands it to a survivor, which picks the job up).
            if (!scheduling.Value.FailoverLedger)
            {
                await Finish(SynthesisStatus.Cancelled, TaskError.ServerStopping);
            }
        }

        if (Exists && IsFinished && scheduling.Value.FailoverLedger && State.ExpiresAt is { } expiresAt && expiresAt > time.GetUtcNow())
        {
            // Reminders wake the grain at expiry even though it is gone; their period has a floor of one minute. Only where results
            // outlive the process (cluster mode): an in-memory result dies with it.
            var due = expiresAt - time.GetUtcNow();
            try
            {
                await this.RegisterOrUpdateReminder(ExpiryReminder, due, due < TimeSpan.FromMinutes(1) ? TimeSpan.FromMinutes(1) : due, cancellationToken);
            }
            catch (Exception e) when (e is OrleansException or OperationCanceledException or InvalidOperationException)
            {
                // The silo is stopping and its reminder service with it; a stored result is cleared by the next read after its expiry.
                LogExpiryNotScheduled(TaskId, e.Message);
            }
        }
    }

    /// <summary>Clears the task when its result has outlived its TTL; true when it did.</summary>
    private async Task<bool> ExpireIfDue()
    {
        if (!Exists || State.ExpiresAt is not { } expiresAt || time.GetUtcNow() < expiresAt)
        {
            return false;
        }

        await task.ClearStateAsync();
        await audio.ClearStateAsync();
        if (scheduling.Value.FailoverLedger && await this.GetReminder(ExpiryReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }

        _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
        DeactivateOnIdle();
        return true;
    }

    private async Task<TaskSnapshot> Snapshot()
    {
        int? position = null;
        if (!IsFinished && State.DeviceKey is { } deviceKey)
        {
            position = await GrainFactory.GetGrain<ISynthesizerGrain>(deviceKey).GetQueuePosition(TaskId);
        }

        return Snapshot(position);
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
        State.DeviceKey);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId}: no expiry reminder while the silo stops ({Reason})")]
    private partial void LogExpiryNotScheduled(string taskId, string reason);

}
