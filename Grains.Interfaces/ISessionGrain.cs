using Orleans.Concurrency;

namespace MitTts.Grains.Interfaces;

/// <summary>A read-only view of a session.</summary>
[GenerateSerializer, Immutable]
public sealed record SessionSnapshot(
    [property: Id(0)] string SessionId,
    [property: Id(1)] string? OwnerId,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] DateTimeOffset LastActivity,
    [property: Id(4)] IReadOnlyList<string> ActiveTaskIds,
    [property: Id(5)] long CompletedTaskCount);

/// <summary>One user's session (key: session id): its owner (the first one to open it keeps it), activity, active REST tasks
/// (streamed tasks belong to the session's channel); cleared after it has been idle too long. Task bookkeeping is in memory: no
/// storage write per task.</summary>
public interface ISessionGrain : IGrainWithStringKey
{
    /// <summary>Opens the session (creating it when new) and records activity.</summary>
    Task<SessionSnapshot> Open(string? ownerId);

    /// <summary>Records a task of this session that has not finished yet.</summary>
    Task AddTask(string taskId);

    /// <summary>The node (silo name) hosting this session; dispatch prefers its devices when loads are equal.</summary>
    [AlwaysInterleave]
    Task<string> GetNode();

    /// <summary>Records that a task of this session finished (in any end state).</summary>
    Task TaskFinished(string taskId);

    /// <summary>The session, or null when it does not exist (never opened, or cleaned up after idling).</summary>
    Task<SessionSnapshot?> GetSnapshot();
}
