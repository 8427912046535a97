using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Results;

/// <summary>Finished tasks: each one's final record and, when the request asked for it to be kept, its audio, until the result's
/// expiry, within a byte budget (least recently used audio goes first).</summary>
/// <remarks>Whoever owns a finished result puts it here and forgets it: a task grain holds no audio and deactivates soon after its task
/// ends, and reads of a finished task come here. A record whose audio was kept and is gone (evicted or expired) says so
/// (<see cref="ResultAudio.Expired"/>), so the API answers 410 rather than 404.</remarks>
public interface IResultStore
{
    /// <summary>Keeps <paramref name="audio"/> (when given) until <paramref name="expiresAt"/>, and <paramref name="record"/> (its
    /// request's text is not kept) as long again after that, so a late reader hears that the audio expired rather than that the task
    /// is unknown. Putting the same task again replaces its record and any audio given; a task ends once, so a store need not delete
    /// audio that a second put without audio would leave (cluster mode would pay a Redis command per task for it).</summary>
    ValueTask Put(string taskId, TaskSnapshot record, AudioResult? audio, DateTimeOffset expiresAt, CancellationToken cancellationToken = default);

    /// <summary>The task's record, with <see cref="TaskSnapshot.Audio"/> saying whether its audio can still be read; null when the
    /// record is unknown, expired or evicted.</summary>
    ValueTask<TaskSnapshot?> GetRecord(string taskId, CancellationToken cancellationToken = default);

    /// <summary>The task's audio, or null when none was kept or it is gone. Reading it makes it the most recently used.</summary>
    ValueTask<AudioResult?> GetAudio(string taskId, CancellationToken cancellationToken = default);

    /// <summary>Forgets the task's record and audio.</summary>
    ValueTask Remove(string taskId, CancellationToken cancellationToken = default);

    /// <summary>What the store holds now.</summary>
    ValueTask<ResultStoreStatistics> GetStatistics(CancellationToken cancellationToken = default);

    /// <summary>Whether the task's result is held only in this process for now (written behind, <see cref="WriteBehindResultStore"/>):
    /// its reads must come here until it lands in the shared store.</summary>
    bool HoldsLocally(string taskId) => false;
}

/// <summary>What a store keeps of a finished task's record: no user text, and <see cref="ResultAudio.Kept"/> when its audio is kept.</summary>
public static class StoredRecord
{
    public static TaskSnapshot Of(TaskSnapshot record, bool audioKept)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record with
        {
            Request = record.Request with { Text = string.Empty },
            Audio = audioKept ? ResultAudio.Kept : record.Audio,
        };
    }
}
