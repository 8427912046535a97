using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Results;

// The index: each result's entry, where its audio lives, and the accounting that moves with it; all of it runs under the lock.
public sealed partial class TieredResultStore
{
    /// <summary>A record with its key: its fields, the strings it holds (UTF-16), and the index's share.</summary>
    private static long EstimateRecordBytes(string taskId, TaskSnapshot record) =>
        256 + 2L * (taskId.Length + record.TaskId.Length + record.Request.VoiceId.Length + (record.Request.SessionId?.Length ?? 0)
            + (record.DeviceKey?.Length ?? 0) + (record.Error?.Code.Length ?? 0) + (record.Error?.Message.Length ?? 0));

    /// <summary>Makes the entry the most recently used.</summary>
    private void Touch(Entry entry)
    {
        // The sets are ordered by LastUse, so the entry leaves them before it changes and comes back after.
        var audioSet = AudioSet(entry);
        _records.Remove(entry);
        audioSet?.Remove(entry);
        entry.LastUse = ++_clock;
        _records.Add(entry);
        audioSet?.Add(entry);
    }

    private SortedSet<Entry>? AudioSet(Entry entry) => entry.Place switch
    {
        AudioPlace.Memory => _inMemory,
        AudioPlace.Disk => _onDisk,
        _ => null,
    };

    /// <summary>The record stays; its audio is gone, and the record says so.</summary>
    private static void LoseAudio(Entry entry)
    {
        entry.Place = AudioPlace.Gone;
        entry.Audio = null;
        entry.FilePath = null;
        entry.Record = entry.Record with { Audio = ResultAudio.Expired };
    }

    /// <summary>The audio's time ran out: it leaves memory or disk, and the record (which stays a while longer) says so.</summary>
    private void ExpireAudio(Entry entry, ref FileChores files)
    {
        if (entry.Place is AudioPlace.Memory or AudioPlace.Spilling or AudioPlace.Disk)
        {
            ReleaseAudio(entry, ref files);
            LoseAudio(entry);
            _expirations++;
        }
    }

    /// <summary>Takes the result out of the store and its accounting.</summary>
    private void Drop(Entry entry, ref FileChores files)
    {
        _entries.Remove(entry.TaskId);
        _records.Remove(entry);
        _memoryBytes -= entry.RecordBytes;
        ReleaseAudio(entry, ref files);
        entry.Place = AudioPlace.Dropped;
        entry.Audio = null;
    }

    /// <summary>Takes the entry's audio out of the accounting of wherever it is (its file, if any, deleted after the lock).</summary>
    private void ReleaseAudio(Entry entry, ref FileChores files)
    {
        switch (entry.Place)
        {
            case AudioPlace.Memory:
                _inMemory.Remove(entry);
                _memoryBytes -= entry.Audio!.Data.Length;
                break;
            case AudioPlace.Spilling:
                // Whoever writes its file deletes it on finding the audio no longer spilling.
                _spilling--;
                _diskBytes -= entry.FileBytes;
                break;
            case AudioPlace.Disk:
                _onDisk.Remove(entry);
                _diskBytes -= entry.FileBytes;
                files.DeleteLater(entry.FilePath!);
                break;
        }
    }

    /// <summary>Where a result's audio is.</summary>
    private enum AudioPlace
    {
        /// <summary>None was given.</summary>
        None,
        Memory,
        /// <summary>Its file is being written; readers still get it from memory.</summary>
        Spilling,
        Disk,
        /// <summary>Evicted or lost; the record stays.</summary>
        Gone,
        /// <summary>The whole result left the store.</summary>
        Dropped,
    }

    /// <summary>One result; all but its identity changes only under the store's lock.</summary>
    private sealed class Entry(string taskId, TaskSnapshot record, long recordBytes, DateTimeOffset expiresAt, DateTimeOffset recordExpiresAt)
    {
        public string TaskId { get; } = taskId;

        public TaskSnapshot Record { get; set; } = record;

        public long RecordBytes { get; } = recordBytes;

        /// <summary>When the audio goes.</summary>
        public DateTimeOffset ExpiresAt { get; } = expiresAt;

        /// <summary>When the record goes: as long again after the audio, so a late reader hears "expired" rather than "unknown".</summary>
        public DateTimeOffset RecordExpiresAt { get; } = recordExpiresAt;

        public AudioPlace Place { get; set; }

        /// <summary>Held while the audio is in memory or being spilled.</summary>
        public AudioResult? Audio { get; set; }

        /// <summary>Set while the audio is being spilled or on disk.</summary>
        public string? FilePath { get; set; }

        public long FileBytes { get; set; }

        public long LastUse { get; set; }
    }

    /// <summary>Audio to write to disk, taken under the lock so the writer needs no entry state.</summary>
    private sealed record Spill(Entry Entry, string Path, AudioResult Audio);

    /// <summary>File work decided under the lock and done after it.</summary>
    private struct FileChores
    {
        private List<string>? _deletions;

        public List<Spill>? Spills { get; private set; }

        public readonly bool IsEmpty => _deletions is null && Spills is null;

        public void DeleteLater(string path) => (_deletions ??= []).Add(path);

        public void Spill(Spill spill) => (Spills ??= []).Add(spill);

        public readonly void DeleteNow()
        {
            foreach (var path in _deletions ?? [])
            {
                ResultFile.TryDelete(path);
            }
        }
    }
}
