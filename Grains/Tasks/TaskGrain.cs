using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;

namespace MitTts.Grains.Tasks;

/// <summary>One synthesis task: its lifecycle, its result, and the expiry of both.</summary>
public sealed partial class TaskGrain(
    [PersistentState("task", StorageNames.Tasks)] IPersistentState<TaskRecord> task,
    [PersistentState("audio", StorageNames.Audio)] IPersistentState<AudioRecord> audio,
    SynthesisDispatcher dispatcher,
    IOptions<TtsOptions> options,
    IOptions<SynthesisQueueOptions> scheduling,
    TimeProvider time,
    ILogger<TaskGrain> logger)
    : Grain, ITaskGrain, IRemindable
{
    private const string ExpiryReminder = "expire";

    private TaskCompletionSource<TaskSnapshot?> _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private string TaskId => this.GetPrimaryKeyString();

    private TaskRecord State => task.State;

    private bool Exists => task.RecordExists && State.Request is not null;

    private bool IsFinished => State.Status is SynthesisStatus.Completed or SynthesisStatus.Error or SynthesisStatus.Cancelled;

    async Task<TaskSnapshot> ITaskGrain.Submit(SynthesisRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (await ExpireIfDue() is false && Exists)
        {
            return await Snapshot();
        }

        task.State = new TaskRecord { Request = request, Status = SynthesisStatus.Queued, CreatedAt = time.GetUtcNow() };
        var session = request.SessionId is { } sessionId ? GrainFactory.GetGrain<ISessionGrain>(sessionId) : null;
        QueueTicket ticket;
        try
        {
            var preferredNode = session is null ? null : await session.GetNode();
            ticket = await dispatcher.Dispatch(new SynthesisJob(TaskId, request, State.CreatedAt), preferredNode);
        }
        catch (Exception e)
        {
            LogDispatchFailed(TaskId, e);
            await Finish(SynthesisStatus.Error, new TaskError("dispatch_failed", "No synthesizer accepted the task: " + e.Message));
            return Snapshot(null);
        }

        if (!ticket.Accepted)
        {
            // Refused work is not a task: nothing is stored, and the client retries after the hinted delay.
            var refused = Snapshot(null) with
            {
                Status = SynthesisStatus.Error,
                Error = new TaskError("busy", "Every synthesizer queue for this priority is full.", ticket.RetryAfterSeconds),
            };
            task.State = new TaskRecord();
            return refused;
        }

        await Accept(ticket);
        if (session is not null)
        {
            await session.AddTask(TaskId);
        }

        return Snapshot(ticket.Position);
    }

    async Task ITaskGrain.Redispatch(string deadDeviceKey)
    {
        if (!Exists || IsFinished || State.DeviceKey != deadDeviceKey)
        {
            return;
        }

        LogRedispatching(TaskId, deadDeviceKey);
        State.Status = SynthesisStatus.Queued;
        State.StartedAt = null;
        State.Progress = 0;
        try
        {
            var ticket = await dispatcher.Dispatch(new SynthesisJob(TaskId, State.Request!, State.CreatedAt), preferredNode: null, avoidDevice: deadDeviceKey);
            if (ticket.Accepted)
            {
                await Accept(ticket);
                return;
            }

            await Finish(SynthesisStatus.Error, new TaskError("busy", "The task's device died and every other queue is full.", ticket.RetryAfterSeconds));
        }
        catch (Exception e)
        {
            LogDispatchFailed(TaskId, e);
            await Finish(SynthesisStatus.Error, new TaskError("dispatch_failed", "The task's device died and no other synthesizer accepted it: " + e.Message));
        }
    }

    async Task<bool> ITaskGrain.Replay()
    {
        if (!Exists || State.Status != SynthesisStatus.Completed || State.Request is not { Streamed: true } request)
        {
            return false;
        }

        LogReplaying(TaskId);
        var ticket = await dispatcher.Dispatch(new SynthesisJob(TaskId, request, time.GetUtcNow(), Replay: true), preferredNode: null);
        return ticket.Accepted;
    }

    Task ITaskGrain.ReportProgress(double progress)
    {
        if (Exists && State.Status == SynthesisStatus.Processing)
        {
            State.Progress = Math.Clamp(progress, 0, 1);
        }

        return Task.CompletedTask;
    }

    /// <summary>Records where the job landed, in the task and in that node's ledger (which outlives the node).</summary>
    private async Task Accept(QueueTicket ticket)
    {
        State.DeviceKey = ticket.DeviceKey;
        State.EstimatedSeconds = ticket.EstimatedSeconds;
        await task.WriteStateAsync();
        if (scheduling.Value.FailoverLedger)
        {
            await GrainFactory.GetGrain<IDeviceLedgerGrain>(DeviceKeys.Node(ticket.DeviceKey)).Add(TaskId, ticket.DeviceKey);
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

        if (State.DeviceKey is { } deviceKey)
        {
            try
            {
                await GrainFactory.GetGrain<ISynthesizerGrain>(deviceKey).Cancel(TaskId);
            }
            catch (OrleansException e)
            {
                // The device's silo is gone, and the job with it: the task is cancelled all the same.
                LogDeviceUnreachable(TaskId, deviceKey, e);
            }
        }

        await Finish(SynthesisStatus.Cancelled, null);
        return true;
    }

    Task<bool> ITaskGrain.MarkProcessing()
    {
        // Processing too: a synthesizer whose activation was replaced mid-job takes the job back from its ledger and starts it again.
        if (!Exists || IsFinished)
        {
            return Task.FromResult(false);
        }

        // Not written to storage: after a crash a processing task is re-dispatched like a queued one, so the
        // write would buy nothing, and it would sit between every job and the engine.
        State.Status = SynthesisStatus.Processing;
        State.StartedAt = time.GetUtcNow();
        return Task.FromResult(true);
    }

    async Task ITaskGrain.Complete(AudioResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
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

    async Task ITaskGrain.Fail(TaskError failure)
    {
        if (!Exists || IsFinished)
        {
            return;
        }

        await Finish(SynthesisStatus.Error, failure);
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
        await task.WriteStateAsync();

        if (State.Request?.SessionId is { } sessionId)
        {
            if (State.Request.Streamed)
            {
                await GrainFactory.GetGrain<IAudioChannelGrain>(sessionId).TaskEnded(TaskId, status, error);
            }

            await GrainFactory.GetGrain<ISessionGrain>(sessionId).TaskFinished(TaskId);
        }

        if (scheduling.Value.FailoverLedger && State.DeviceKey is { } device)
        {
            await GrainFactory.GetGrain<IDeviceLedgerGrain>(DeviceKeys.Node(device)).Remove(TaskId);
        }

        // While active a timer expires the result; a reminder takes over only if the grain deactivates first (OnDeactivateAsync),
        // which keeps the reminder service off the path of every task.
        this.RegisterGrainTimer(ExpireIfDue, new GrainTimerCreationOptions(State.ExpiresAt.Value - now + TimeSpan.FromMilliseconds(10), Timeout.InfiniteTimeSpan));

        _finished.TrySetResult(Snapshot(null));
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (Exists && IsFinished && State.ExpiresAt is { } expiresAt && expiresAt > time.GetUtcNow())
        {
            // Reminders wake the grain at expiry even though it is gone; their period has a floor of one minute.
            var due = expiresAt - time.GetUtcNow();
            try
            {
                await this.RegisterOrUpdateReminder(ExpiryReminder, due, due < TimeSpan.FromMinutes(1) ? TimeSpan.FromMinutes(1) : due, cancellationToken);
            }
            catch (Exception e) when (e is OrleansException or OperationCanceledException or InvalidOperationException)
            {
                // The silo is stopping and its reminder service with it; an in-memory result dies with the process anyway, and a stored
                // one is cleared by the next read after its expiry (ExpireIfDue).
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
        if (await this.GetReminder(ExpiryReminder) is { } reminder)
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} is spoken again for its channel, which lost unsent audio")]
    private partial void LogReplaying(string taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} is re-dispatched: its device {DeviceKey} died")]
    private partial void LogRedispatching(string taskId, string deviceKey);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} cancelled without reaching its device {DeviceKey}")]
    private partial void LogDeviceUnreachable(string taskId, string deviceKey, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Task {TaskId} could not be dispatched to a synthesizer")]
    private partial void LogDispatchFailed(string taskId, Exception exception);
}
