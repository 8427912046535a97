using Microsoft.Extensions.Logging;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;

namespace MitTts.Grains.Tasks;

/// <summary>A REST task's job: pulled from its synthesizer to the end, started again on another device when that one's silo dies.</summary>
public sealed partial class TaskGrain
{
    /// <summary>Starts the job again (after its owner's silo died), unless it finished or is already being pulled.</summary>
    private void StartPulling(string? avoidDevice)
    {
        if (!Exists || IsFinished || _job is not null)
        {
            return;
        }

        _job = new CancellationTokenSource();
        _ = Restart(avoidDevice, 0, _job.Token);
    }

    /// <summary>Reads the job's events to its end; when the synthesizer's silo dies, starts it again on another device.</summary>
    private async Task Pull(IAsyncEnumerator<SynthesisEvent> events, CancellationToken cancellationToken, int restarts = 0)
    {
        var deviceKey = State.DeviceKey;
        try
        {
            await using (events.ConfigureAwait(true))
            {
                while (await events.MoveNextAsync())
                {
                    switch (events.Current)
                    {
                        case JobQueued queued:
                            State.DeviceKey = deviceKey = queued.DeviceKey;
                            State.EstimatedSeconds = queued.EstimatedSeconds;
                            break;
                        case JobStarted:
                            State.Status = SynthesisStatus.Processing;
                            State.StartedAt ??= time.GetUtcNow();
                            break;
                        case JobProgress progress:
                            State.Progress = progress.Progress;
                            break;
                        case JobCompleted { Audio: { } result }:
                            await Complete(result, result.DurationSeconds, result.SampleRate);
                            return;
                        case JobFailed failed:
                            await Finish(SynthesisStatus.Error, failed.Error);
                            return;
                    }
                }
            }

            throw new InvalidOperationException($"Synthesizer {deviceKey} ended the job without a result.");
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested || IsFinished)
        {
            // Cancelled: Cancel() ended the task.
        }
        catch (SiloStoppingException) when (!scheduling.Value.FailoverLedger)
        {
            // One process, stopping: no other device will take the job.
            await Finish(SynthesisStatus.Cancelled, TaskError.ServerStopping);
        }
        catch (Exception e)
        {
            LogDeviceLost(TaskId, deviceKey ?? "?", e.Message);
            await Restart(deviceKey, restarts + 1, cancellationToken);
        }
    }

    private async Task Restart(string? avoidDevice, int restarts, CancellationToken cancellationToken)
    {
        if (!IsRunning)
        {
            return;
        }

        if (restarts > MaxRestarts)
        {
            await Finish(SynthesisStatus.Error, new TaskError("synthesis_failed", "The task's synthesizer was lost too many times."));
            return;
        }

        State.Status = SynthesisStatus.Queued;
        State.StartedAt = null;
        State.Progress = 0;
        try
        {
            var started = await dispatcher.Restart(new SynthesisJob(TaskId, State.Request!, State.CreatedAt), preferredNode: null, avoidDevice, cancellationToken);
            if (started.Refusal is { } refusal)
            {
                await Finish(SynthesisStatus.Error, refusal with { Message = "The task's device died and every other queue is full." });
                return;
            }

            State.DeviceKey = started.Queued!.DeviceKey;
            await EnterLedger();
            await Pull(started.Events!, cancellationToken, restarts);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested || IsFinished)
        {
        }
        catch (Exception e)
        {
            LogDispatchFailed(TaskId, e);
            await Finish(SynthesisStatus.Error, new TaskError("dispatch_failed", "The task's device died and no other synthesizer accepted it: " + e.Message));
        }
    }

    /// <summary>Records this silo as the owner of the job, so a survivor wakes the task if the silo dies (cluster mode).</summary>
    private async Task EnterLedger()
    {
        var node = localSilo.Name;
        if (!scheduling.Value.FailoverLedger || _ledgerNode == node || IsFinished)
        {
            return;
        }

        _ledgerNode = node;
        await GrainFactory.GetGrain<IJobLedgerGrain>(node).Add(TaskId, JobOwners.Task);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} lost its synthesizer {DeviceKey} ({Reason}); starting it again elsewhere")]
    private partial void LogDeviceLost(string taskId, string deviceKey, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Task {TaskId} could not be dispatched to a synthesizer")]
    private partial void LogDispatchFailed(string taskId, Exception exception);
}
