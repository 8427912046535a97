using Microsoft.Extensions.Options;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Sessions;

/// <summary>The persisted state of a session grain.</summary>
[GenerateSerializer]
public sealed class SessionRecord
{
    [Id(0)] public string? OwnerId { get; set; }
    [Id(1)] public DateTimeOffset CreatedAt { get; set; }
    [Id(2)] public DateTimeOffset LastActivity { get; set; }
    [Id(3)] public List<string> ActiveTaskIds { get; set; } = [];
    [Id(4)] public long CompletedTaskCount { get; set; }
}

/// <summary>One user's session: who owns it, what it is doing, and when it was last used.</summary>
public sealed class SessionGrain(
    [PersistentState("session", StorageNames.Sessions)] IPersistentState<SessionRecord> session,
    IOptions<SessionOptions> options,
    ILocalSiloDetails localSilo,
    TimeProvider time)
    : Grain, ISessionGrain
{
    private IGrainTimer? _idleCheck;

    private TimeSpan IdleTimeout => TimeSpan.FromSeconds(options.Value.IdleTimeoutSeconds);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (session.RecordExists)
        {
            await ClearIfIdle();
        }
    }

    async Task<SessionSnapshot> ISessionGrain.Open(string? ownerId)
    {
        Touch();
        if (ownerId is not null)
        {
            session.State.OwnerId ??= ownerId;
        }

        await session.WriteStateAsync();
        return Snapshot();
    }

    async Task ISessionGrain.AddTask(string taskId)
    {
        Touch();
        if (!session.State.ActiveTaskIds.Contains(taskId))
        {
            session.State.ActiveTaskIds.Add(taskId);
        }

        await session.WriteStateAsync();
    }

    async Task ISessionGrain.TaskFinished(string taskId)
    {
        if (!session.RecordExists || !session.State.ActiveTaskIds.Remove(taskId))
        {
            return;
        }

        session.State.CompletedTaskCount++;
        Touch();
        await session.WriteStateAsync();
    }

    Task<string> ISessionGrain.GetNode() => Task.FromResult(localSilo.Name);

    Task<SessionSnapshot?> ISessionGrain.GetSnapshot() => Task.FromResult(session.RecordExists ? Snapshot() : null);

    private void Touch()
    {
        var now = time.GetUtcNow();
        if (!session.RecordExists)
        {
            session.State = new SessionRecord { CreatedAt = now };
        }

        session.State.LastActivity = now;

        // Checked at a fraction of the timeout so a session is cleared soon after it goes idle; the timer keeps the grain until then.
        _idleCheck ??= this.RegisterGrainTimer(
            ClearIfIdle,
            new GrainTimerCreationOptions(IdleTimeout / 4, IdleTimeout / 4) { KeepAlive = true, Interleave = false });
    }

    private async Task ClearIfIdle()
    {
        var state = session.State;
        if (!session.RecordExists || state.ActiveTaskIds.Count > 0 || time.GetUtcNow() - state.LastActivity < IdleTimeout)
        {
            return;
        }

        await session.ClearStateAsync();
        _idleCheck?.Dispose();
        _idleCheck = null;
        DeactivateOnIdle();
    }

    private SessionSnapshot Snapshot()
    {
        var state = session.State;
        return new SessionSnapshot(this.GetPrimaryKeyString(), state.OwnerId, state.CreatedAt, state.LastActivity, [.. state.ActiveTaskIds], state.CompletedTaskCount);
    }
}
