using Microsoft.Extensions.Logging;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Tasks;

/// <summary>A streamed task's record: its session's channel owns the job and tells this grain where the task stands (in memory only),
/// and a read asks the channel for what is still on its way.</summary>
public sealed partial class TaskGrain
{
    // How long a read waits for an announced task to reach its channel: as long as a socket retries its submit while a silo dies.
    private static readonly TimeSpan s_announcedWait = TimeSpan.FromSeconds(10);

    // Announced by its socket and not yet tracked by its channel (or withdrawn): reads and cancels wait on it.
    private TaskCompletionSource? _announced;

    Task ITaskGrain.Announce()
    {
        if (!Exists && _outcome is null)
        {
            _announced ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

            // A socket announces its next task ahead, maybe long before it comes: the activation stays past the collection age (its
            // socket announces again after TaskAnnouncer's freshness, and withdraws it when it closes).
            DelayDeactivation(TaskAnnouncements.Kept);
        }

        return Task.CompletedTask;
    }

    Task ITaskGrain.Withdraw()
    {
        Settle();
        if (!Exists && _outcome is null)
        {
            // Never tracked: the activation holds nothing.
            DeactivateOnIdle();
        }

        return Task.CompletedTask;
    }

    Task ITaskGrain.Track(SynthesisRequest request, string deviceKey, DateTimeOffset createdAt)
    {
        ArgumentNullException.ThrowIfNull(request);
        Hold(new TaskRecord { Request = request, Status = SynthesisStatus.Queued, CreatedAt = createdAt, DeviceKey = deviceKey });
        Settle();
        return Task.CompletedTask;
    }

    /// <summary>An announced task not tracked yet: waits until its channel tracks it or its socket withdraws it (bounded), so that a
    /// client told <c>queued</c> never hears "no such task".</summary>
    private async Task AwaitAnnounced()
    {
        if (_announced is { } announced && !Exists)
        {
            try
            {
                await announced.Task.WaitAsync(s_announcedWait);
            }
            catch (TimeoutException)
            {
                // The submit never came back: answer from what is here.
            }
        }
    }

    private void Settle()
    {
        _announced?.TrySetResult();
        _announced = null;
    }

    async Task ITaskGrain.Record(TaskProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        if (!Exists && _outcome is null && progress.Request is { } request)
        {
            // Nothing here though the channel tracked the task: this grain's silo died since, and the record with it.
            Hold(new TaskRecord
            {
                Request = request,
                Status = SynthesisStatus.Queued,
                // A channel restored after its own silo died no longer knows when the task came: its restart is the earliest known.
                CreatedAt = progress.CreatedAt ?? progress.StartedAt ?? time.GetUtcNow(),
                StartedAt = progress.StartedAt,
                DeviceKey = progress.DeviceKey,
            });
            LogRecordRebuilt(TaskId, progress.Status);
            Settle();
        }

        if (!IsRunning)
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
                State.StartedAt ??= progress.StartedAt ?? time.GetUtcNow();
                State.DeviceKey = progress.DeviceKey ?? State.DeviceKey;
                State.Progress = Math.Max(State.Progress, progress.Progress);
                break;
            case SynthesisStatus.Completed:
                await Complete(progress.Audio, progress.DurationSeconds, progress.SampleRate, progress.CacheHit);
                break;
            default:
                // How far it got when it stopped, as its socket was told.
                State.Progress = Math.Max(State.Progress, progress.Progress);
                await Finish(progress.Status, progress.Error);
                break;
        }
    }

    /// <summary>Takes what the owning channel knows and this grain has not heard yet: a report on its way (an interrupt the client already
    /// heard), or how far the synthesis has got.</summary>
    private async Task TakeUnrecordedProgress(string sessionId)
    {
        TaskProgress? progress;
        try
        {
            progress = await GrainFactory.GetGrain<IAudioChannelGrain>(sessionId).GetUnrecordedProgress(TaskId);
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            // The channel's silo is going: the record as it stands.
            return;
        }

        if (progress is not null)
        {
            await ((ITaskGrain)this).Record(progress);
        }
    }

    private void Hold(TaskRecord record)
    {
        task.State = record;
        _inMemory = true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId}: record rebuilt from its channel's {Status} report (the silo that held it was lost)")]
    private partial void LogRecordRebuilt(string taskId, SynthesisStatus status);
}
