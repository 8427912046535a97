using Microsoft.Extensions.Logging;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Results;

namespace MitTts.Grains.Tasks;

/// <summary>A task's end: its record (and the audio it asked to keep) to the result store, its grain state cleared once the store has
/// them, and the grain gone after a short hand-off to waiters.</summary>
public sealed partial class TaskGrain
{
    private Task Complete(AudioResult? audio, double durationSeconds, int sampleRate, bool cacheHit = false)
    {
        if (!IsRunning)
        {
            return Task.CompletedTask;
        }

        State.AudioDurationSeconds = audio?.DurationSeconds ?? durationSeconds;
        State.AudioSampleRate = audio?.SampleRate ?? (sampleRate > 0 ? sampleRate : null);
        State.CacheHit = cacheHit || (audio?.CacheHit ?? false);
        return Finish(SynthesisStatus.Completed, null, audio);
    }

    /// <summary>Ends the task: its record (and the audio it asked to keep) goes to the result store, its grain state (if written) is
    /// cleared, and the grain leaves after a short hand-off to waiters.</summary>
    private async Task Finish(SynthesisStatus status, TaskError? error, AudioResult? audio = null)
    {
        var now = time.GetUtcNow();
        var request = State.Request!;
        State.Status = status;
        State.Error = error;
        State.CompletedAt = now;
        State.ExpiresAt = now + TimeSpan.FromSeconds(options.Value.ResultTtlSeconds);
        var keep = audio is not null && request.Store;
        var resultAudio = status != SynthesisStatus.Completed ? ResultAudio.None : keep ? ResultAudio.Kept : ResultAudio.NotKept;
        var record = Snapshot(null) with { Audio = resultAudio };

        // Ended from here on, for every call and for the pull that interleave with the awaits below (the state is cleared in them).
        _outcome = new TaskOutcome(record, audio);
        if (error != TaskError.ServerStopping || scheduling.Value.FailoverLedger)
        {
            // One process stopping: its in-memory results go with it (and may already be gone), so there is nothing to write.
            _storing = Store(record, keep ? audio : null, State.ExpiresAt.Value);
            await _storing;
        }

        // The session hears first, so whoever the end releases finds the session already without the task.
        if (request is { Streamed: false, SessionId: { } sessionId })
        {
            try
            {
                await GrainFactory.GetGrain<ISessionGrain>(sessionId).TaskFinished(TaskId);
            }
            catch (Exception e) when (e is OrleansException or TimeoutException)
            {
                LogSessionNotTold(TaskId, e);
            }
        }

        _finished.TrySetResult(_outcome);
        if (request.Owner is { } owner)
        {
            GrainFactory.GetGrain<IRateLimitGrain>(RateLimitKeys.User(owner)).EndTask(TaskId).Ignore();
        }

        // Leaves after the hand-off, unless its result is still held in this silo (the shared store is down) or its cleared state is
        // not written yet: then it stays, so every read comes here, and tries again until both are done.
        _leaving = this.RegisterGrainTimer(LeaveOnceStored, new GrainTimerCreationOptions(s_handOff, s_handOff) { KeepAlive = true });
        if (!_stateToClear)
        {
            // While its record stays written the task keeps its ledger entry, so that a survivor wakes it if this silo dies first.
            await LeaveLedger();
        }
    }

    private async Task LeaveOnceStored()
    {
        if (_stateToClear && !results.HoldsLocally(TaskId))
        {
            await ClearState();
        }

        if (!_stateToClear && !results.HoldsLocally(TaskId))
        {
            await LeaveLedger();
            _leaving?.Dispose();
            DeactivateOnIdle();
        }
    }

    private async Task LeaveLedger()
    {
        if (_ledgerNode is { } node)
        {
            _ledgerNode = null;
            await GrainFactory.GetGrain<IJobLedgerGrain>(node).Remove(TaskId);
        }
    }

    /// <summary>Clears a REST task's grain state once its result is stored; a failure (the store is down) is tried again later: left
    /// written, the unfinished record would start the job again on its next activation.</summary>
    private async Task ClearState()
    {
        try
        {
            await task.ClearStateAsync();
            _stateToClear = false;
        }
        catch (Exception e)
        {
            _stateToClear = true;
            LogStateNotCleared(TaskId, e);
        }
    }

    /// <summary>Puts the ended task in the result store and clears its grain state once the store has it; reads of the ended task wait
    /// for it.</summary>
    private async Task Store(TaskSnapshot record, AudioResult? audio, DateTimeOffset expiresAt)
    {
        try
        {
            await results.Put(TaskId, record, audio, expiresAt);
            _stored = true;
        }
        catch (Exception e)
        {
            // The result could not be stored: this activation still answers with it until it leaves.
            LogResultNotStored(TaskId, e);
            return;
        }

        if (!task.RecordExists)
        {
            // Only a REST task's state was ever written; a streamed task's clear would be a Redis delete of a key that never was.
            return;
        }

        if (results.HoldsLocally(TaskId))
        {
            // Held in this silo until the shared store takes it: cleared now, the task would be lost with the silo (its record gone,
            // its result unwritten). Left written, a survivor runs the task again; the clear follows once the result has landed.
            _stateToClear = true;
            return;
        }

        await ClearState();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: its session could not be told that it ended")]
    private partial void LogSessionNotTold(string taskId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: its finished record's grain state could not be cleared yet; trying again")]
    private partial void LogStateNotCleared(string taskId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Task {TaskId}: its result could not be stored")]
    private partial void LogResultNotStored(string taskId, Exception exception);
}
