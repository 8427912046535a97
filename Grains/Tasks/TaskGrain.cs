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
        if (request.SessionId is { } sessionId)
        {
            await GrainFactory.GetGrain<ISessionGrain>(sessionId).AddTask(TaskId);
        }

        QueueTicket? ticket = null;
        try
        {
            ticket = await dispatcher.Dispatch(new SynthesisJob(TaskId, request, State.CreatedAt));
            State.DeviceKey = ticket.DeviceKey;
            State.EstimatedSeconds = ticket.EstimatedSeconds;
            await task.WriteStateAsync();
        }
        catch (Exception e)
        {
            LogDispatchFailed(TaskId, e);
            await Finish(SynthesisStatus.Error, new TaskError("dispatch_failed", "No synthesizer accepted the task: " + e.Message));
        }

        return Snapshot(ticket?.Position);
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
            await GrainFactory.GetGrain<ISynthesizerGrain>(deviceKey).Cancel(TaskId);
        }

        await Finish(SynthesisStatus.Cancelled, null);
        return true;
    }

    async Task<bool> ITaskGrain.MarkProcessing()
    {
        if (!Exists || State.Status != SynthesisStatus.Queued)
        {
            return false;
        }

        State.Status = SynthesisStatus.Processing;
        State.StartedAt = time.GetUtcNow();
        await task.WriteStateAsync();
        return true;
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
            await GrainFactory.GetGrain<ISessionGrain>(sessionId).TaskFinished(TaskId);
        }

        // Reminders wake the grain at expiry even if it was deactivated meanwhile; their period has a floor of one minute.
        var ttl = TimeSpan.FromSeconds(options.Value.ResultTtlSeconds);
        await this.RegisterOrUpdateReminder(ExpiryReminder, ttl, ttl < TimeSpan.FromMinutes(1) ? TimeSpan.FromMinutes(1) : ttl);

        _finished.TrySetResult(Snapshot(null));
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
        State.Status == SynthesisStatus.Completed ? 1.0 : 0.0,
        State.Error,
        State.AudioDurationSeconds,
        IsFinished ? null : queuePosition,
        State.EstimatedSeconds,
        State.ExpiresAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Task {TaskId} could not be dispatched to a synthesizer")]
    private partial void LogDispatchFailed(string taskId, Exception exception);
}
