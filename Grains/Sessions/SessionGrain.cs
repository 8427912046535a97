using Microsoft.Extensions.Options;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;

namespace MitTts.Grains.Sessions;

/// <summary>What a session keeps in storage: who owns it and when it was created and last used. Its active tasks live in memory.</summary>
[GenerateSerializer]
public sealed class SessionRecord
{
    [Id(0)] public string? OwnerId { get; set; }
    [Id(1)] public DateTimeOffset CreatedAt { get; set; }
    [Id(2)] public DateTimeOffset LastActivity { get; set; }
}

/// <summary>One user's session: who owns it (the first owner to open it keeps it: what per-user authorization checks), its REST tasks
/// still running, and when it was last used; cleared once idle for <see cref="SessionOptions.IdleTimeoutSeconds"/> (a session whose
/// channel is in use, a socket streaming it or one that may resume it, is not idle).</summary>
/// <remarks>Off the hot path for storage: a session is written when it is created or gets its owner; task bookkeeping and activity stay
/// in memory, and activity reaches storage at most once per idle check (a quarter of the timeout) and when the grain deactivates.
/// After a crash the active-task list starts empty: the tasks themselves are owned, and recovered, elsewhere.</remarks>
public sealed class SessionGrain(
    [PersistentState("session", StorageNames.Sessions)] IPersistentState<SessionRecord> session,
    IOptions<SessionOptions> options,
    IOptions<SynthesisQueueOptions> scheduling,
    ILocalSiloDetails localSilo,
    TimeProvider time)
    : Grain, ISessionGrain
{
    // A bound, not a setting: ids of tasks that finished before they were booked, kept for their late AddTask.
    private const int MaxFinishedUnbooked = 64;

    private readonly List<string> _activeTasks = [];

    // A task's job can end while its Submit is still booking it here (a cache hit, a short text): its TaskFinished then comes before its
    // AddTask, which must not list a finished task as active for good.
    private readonly List<string> _finishedUnbooked = [];
    private long _completedTasks;
    private bool _dirty;
    private IGrainTimer? _idleCheck;

    private TimeSpan IdleTimeout => TimeSpan.FromSeconds(options.Value.IdleTimeoutSeconds);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (session.RecordExists)
        {
            await ClearIfIdle();
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // A whole server stopping with in-memory storage (one process) keeps nothing: no write then.
        if (_dirty && session.RecordExists && (reason.ReasonCode != DeactivationReasonCode.ShuttingDown || scheduling.Value.FailoverLedger))
        {
            _dirty = false;
            await session.WriteStateAsync(cancellationToken);
        }
    }

    async Task<SessionSnapshot> ISessionGrain.Open(string? ownerId)
    {
        var created = Touch();
        var owned = ownerId is not null && session.State.OwnerId is null;
        if (owned)
        {
            session.State.OwnerId = ownerId;
        }

        if (created || owned)
        {
            _dirty = false;
            await session.WriteStateAsync();
        }

        return Snapshot();
    }

    Task ISessionGrain.AddTask(string taskId)
    {
        Touch();
        if (_finishedUnbooked.Remove(taskId))
        {
            _completedTasks++;
            return Task.CompletedTask;
        }

        if (!_activeTasks.Contains(taskId))
        {
            _activeTasks.Add(taskId);
        }

        return Task.CompletedTask;
    }

    Task ISessionGrain.TaskFinished(string taskId)
    {
        if (session.RecordExists && _activeTasks.Remove(taskId))
        {
            _completedTasks++;
            Touch();
        }
        else if (!_activeTasks.Contains(taskId) && !_finishedUnbooked.Contains(taskId))
        {
            _finishedUnbooked.Add(taskId);
            if (_finishedUnbooked.Count > MaxFinishedUnbooked)
            {
                _finishedUnbooked.RemoveAt(0);
            }
        }

        return Task.CompletedTask;
    }

    Task<string> ISessionGrain.GetNode() => Task.FromResult(localSilo.Name);

    Task<SessionSnapshot?> ISessionGrain.GetSnapshot() => Task.FromResult(session.RecordExists || _dirty ? Snapshot() : null);

    /// <summary>Records activity; true when the session is new (not yet stored).</summary>
    private bool Touch()
    {
        var now = time.GetUtcNow();
        var created = !session.RecordExists && !_dirty;
        if (created)
        {
            session.State = new SessionRecord { CreatedAt = now };
        }

        session.State.LastActivity = now;
        _dirty = true;

        // Checked at a fraction of the timeout so a session is cleared soon after it goes idle; the timer keeps the grain until then.
        _idleCheck ??= this.RegisterGrainTimer(
            ClearIfIdle,
            new GrainTimerCreationOptions(IdleTimeout / 4, IdleTimeout / 4) { KeepAlive = true, Interleave = false });
        return created;
    }

    private async Task ClearIfIdle()
    {
        var state = session.State;
        if (_activeTasks.Count > 0 || time.GetUtcNow() - state.LastActivity < IdleTimeout || await InUseByChannel())
        {
            if (_dirty)
            {
                // Activity reaches storage here, in one write per check, not one per task.
                _dirty = false;
                await session.WriteStateAsync();
            }

            return;
        }

        _dirty = false;
        if (session.RecordExists)
        {
            await session.ClearStateAsync();
        }

        _completedTasks = 0;
        _idleCheck?.Dispose();
        _idleCheck = null;
        DeactivateOnIdle();
    }

    /// <summary>Whether the session's channel is in use (a socket streams it, or may come back to it): then the session is used now,
    /// and keeps its owner. A channel that does not answer counts as in use: an owner is never dropped on a guess.</summary>
    private async Task<bool> InUseByChannel()
    {
        bool inUse;
        try
        {
            inUse = await GrainFactory.GetGrain<IAudioChannelGrain>(this.GetPrimaryKeyString()).IsInUse();
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            inUse = true;
        }

        if (inUse)
        {
            Touch();
        }

        return inUse;
    }

    private SessionSnapshot Snapshot()
    {
        var state = session.State;
        return new SessionSnapshot(this.GetPrimaryKeyString(), state.OwnerId, state.CreatedAt, state.LastActivity, [.. _activeTasks], _completedTasks);
    }
}
