using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Results;

/// <summary>The embedded server's result store: records and recently used audio in memory, less recently used audio in files, each
/// within its byte budget and until the result's expiry.</summary>
/// <remarks>One short lock guards the index and its accounting and is never held across disk I/O: a change picks its victims under the
/// lock, writes and deletes their files outside it, then records what became of them under the lock again. Audio being spilled is
/// still served from memory until its file is in place, and already counts against the disk budget rather than the memory one.</remarks>
public sealed partial class TieredResultStore : IResultStore, IDisposable
{
    /// <summary>Least recently used first: each use takes the next tick of the store's clock, so no two entries compare equal.</summary>
    private static readonly IComparer<Entry> s_byLastUse = Comparer<Entry>.Create((a, b) => a.LastUse.CompareTo(b.LastUse));

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly SortedSet<Entry> _records = new(s_byLastUse);
    private readonly SortedSet<Entry> _inMemory = new(s_byLastUse);
    private readonly SortedSet<Entry> _onDisk = new(s_byLastUse);
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITimer _sweep;
    private readonly long _memoryBudget;
    private readonly long _diskBudget;
    private readonly string _directory;
    private long _clock;
    private long _memoryBytes;
    private long _diskBytes;
    private int _spilling;
    private long _evictions;
    private long _expirations;

    /// <summary>Opens the store on <see cref="ResultStoreOptions.Directory"/> (unless the disk budget is 0), deleting the audio files an
    /// earlier process left there: nobody holds their records any more.</summary>
    public TieredResultStore(ResultStoreOptions options, TimeProvider time, ILogger<TieredResultStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MemoryBudgetBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(options.DiskBudgetBytes);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.SweepInterval, TimeSpan.Zero);
        _time = time;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _memoryBudget = options.MemoryBudgetBytes;
        _diskBudget = options.DiskBudgetBytes;
        _directory = Path.GetFullPath(options.Directory);
        if (DiskEnabled)
        {
            Directory.CreateDirectory(_directory);
            foreach (var path in Directory.EnumerateFiles(_directory))
            {
                if (ResultFile.IsResultFile(path))
                {
                    ResultFile.TryDelete(path);
                }
            }
        }

        _sweep = time.CreateTimer(_ => Sweep(), null, options.SweepInterval, options.SweepInterval);
    }

    private bool DiskEnabled => _diskBudget > 0;

    public ValueTask Put(string taskId, TaskSnapshot record, AudioResult? audio, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        ArgumentNullException.ThrowIfNull(record);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        var stored = StoredRecord.Of(record, audio is not null);
        var files = new FileChores();
        lock (_lock)
        {
            if (_entries.TryGetValue(taskId, out var previous))
            {
                Drop(previous, ref files);
            }

            // A result already out of time still replaces the previous one, and is gone at once.
            var now = _time.GetUtcNow();
            if (expiresAt > now)
            {
                var entry = new Entry(taskId, stored, EstimateRecordBytes(taskId, stored), expiresAt, expiresAt + (expiresAt - now)) { LastUse = ++_clock };
                _entries.Add(taskId, entry);
                _records.Add(entry);
                _memoryBytes += entry.RecordBytes;
                if (audio is not null)
                {
                    entry.Audio = audio;
                    entry.Place = AudioPlace.Memory;
                    _inMemory.Add(entry);
                    _memoryBytes += audio.Data.Length;
                }
            }

            KeepWithinMemoryBudget(ref files);
        }

        return files.IsEmpty ? ValueTask.CompletedTask : new ValueTask(CompleteAsync(files));
    }

    public ValueTask<TaskSnapshot?> GetRecord(string taskId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<TaskSnapshot?>(cancellationToken);
        }

        var files = new FileChores();
        TaskSnapshot? record;
        lock (_lock)
        {
            record = Find(taskId, ref files)?.Record;
        }

        files.DeleteNow();
        return ValueTask.FromResult(record);
    }

    public ValueTask<AudioResult?> GetAudio(string taskId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<AudioResult?>(cancellationToken);
        }

        var files = new FileChores();
        AudioResult? held = null;
        string? path = null;
        Entry? entry;
        lock (_lock)
        {
            entry = Find(taskId, ref files);
            if (entry is not null)
            {
                Touch(entry);
                // Audio in memory, or on its way to disk, is handed out as it is: AudioResult is immutable.
                held = entry.Audio;
                path = entry.Place == AudioPlace.Disk ? entry.FilePath : null;
            }
        }

        files.DeleteNow();
        return path is null ? ValueTask.FromResult(held) : new ValueTask<AudioResult?>(ReadFromDiskAsync(entry!, path));
    }

    public ValueTask Remove(string taskId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        var files = new FileChores();
        lock (_lock)
        {
            if (_entries.TryGetValue(taskId, out var entry))
            {
                Drop(entry, ref files);
            }
        }

        files.DeleteNow();
        return ValueTask.CompletedTask;
    }

    public ValueTask<ResultStoreStatistics> GetStatistics(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(new ResultStoreStatistics(
                DiskEnabled ? "memory+disk" : "memory",
                _entries.Count,
                _inMemory.Count + _spilling + _onDisk.Count,
                _memoryBytes,
                _memoryBudget,
                _diskBytes,
                _diskBudget,
                _evictions,
                _expirations));
        }
    }

    /// <summary>Stops the sweep; files stay until the next start-up deletes them.</summary>
    public void Dispose() => _sweep.Dispose();

    /// <summary>The live entry of the task; an expired one is dropped on the way (the sweep would have done it).</summary>
    private Entry? Find(string taskId, ref FileChores files)
    {
        if (!_entries.TryGetValue(taskId, out var entry))
        {
            return null;
        }

        var now = _time.GetUtcNow();
        if (entry.RecordExpiresAt <= now)
        {
            Drop(entry, ref files);
            _expirations++;
            return null;
        }

        if (entry.ExpiresAt <= now)
        {
            ExpireAudio(entry, ref files);
        }

        return entry;
    }

    /// <summary>Moves the least recently used audio out of memory (to disk, or away) until the budget holds; if records alone break
    /// it, the least recently used results go altogether.</summary>
    private void KeepWithinMemoryBudget(ref FileChores files)
    {
        while (_memoryBytes > _memoryBudget && _inMemory.Min is { } victim)
        {
            var audio = victim.Audio!;
            _inMemory.Remove(victim);
            _memoryBytes -= audio.Data.Length;
            if (TryReserveDisk(victim, audio, ref files))
            {
                victim.Place = AudioPlace.Spilling;
                victim.FilePath = Path.Combine(_directory, Guid.NewGuid().ToString("N") + ResultFile.Extension);
                _spilling++;
                files.Spill(new Spill(victim, victim.FilePath, audio));
            }
            else
            {
                LoseAudio(victim);
                _evictions++;
            }
        }

        while (_memoryBytes > _memoryBudget && _records.Min is { } victim)
        {
            Drop(victim, ref files);
            _evictions++;
        }
    }

    /// <summary>Makes room on disk for the victim's audio by evicting audio used less recently than it; false when that is not
    /// enough, as then the victim is the one to go.</summary>
    private bool TryReserveDisk(Entry victim, AudioResult audio, ref FileChores files)
    {
        if (!DiskEnabled || !ResultFile.CanHold(audio))
        {
            return false;
        }

        var size = ResultFile.Length(audio);
        var needed = _diskBytes + size - _diskBudget;
        if (needed > 0)
        {
            long freeable = 0;
            foreach (var older in _onDisk)
            {
                if (freeable >= needed || older.LastUse > victim.LastUse)
                {
                    break;
                }

                freeable += older.FileBytes;
            }

            if (freeable < needed)
            {
                return false;
            }

            while (_diskBytes + size > _diskBudget)
            {
                var oldest = _onDisk.Min!;
                _onDisk.Remove(oldest);
                _diskBytes -= oldest.FileBytes;
                files.DeleteLater(oldest.FilePath!);
                LoseAudio(oldest);
                _evictions++;
            }
        }

        victim.FileBytes = size;
        _diskBytes += size;
        return true;
    }

    /// <summary>Deletes files of dropped audio, then writes the spilled audio and says under the lock where each now lives.</summary>
    private async Task CompleteAsync(FileChores files)
    {
        files.DeleteNow();
        foreach (var spill in files.Spills ?? [])
        {
            var written = await ResultFile.TryWriteAsync(spill.Path, spill.Audio).ConfigureAwait(false);
            var orphaned = false;
            lock (_lock)
            {
                var entry = spill.Entry;
                if (entry.Place != AudioPlace.Spilling)
                {
                    // Removed, replaced or expired while its file was written: nobody will read the file.
                    orphaned = written;
                }
                else
                {
                    _spilling--;
                    if (written)
                    {
                        entry.Place = AudioPlace.Disk;
                        entry.Audio = null;
                        _onDisk.Add(entry);
                    }
                    else
                    {
                        _diskBytes -= entry.FileBytes;
                        LoseAudio(entry);
                        _evictions++;
                    }
                }
            }

            if (orphaned)
            {
                ResultFile.TryDelete(spill.Path);
            }

            if (!written)
            {
                LogSpillFailed(spill.Entry.TaskId, _directory);
            }
        }
    }

    private async Task<AudioResult?> ReadFromDiskAsync(Entry entry, string path)
    {
        var audio = await ResultFile.TryReadAsync(path).ConfigureAwait(false);
        if (audio is not null)
        {
            return audio;
        }

        var lost = false;
        lock (_lock)
        {
            // Unless an eviction or a removal took it meanwhile, the file was lost or damaged under the store: its audio is gone.
            if (entry.Place == AudioPlace.Disk && entry.FilePath == path)
            {
                _onDisk.Remove(entry);
                _diskBytes -= entry.FileBytes;
                LoseAudio(entry);
                lost = true;
            }
        }

        if (lost)
        {
            ResultFile.TryDelete(path);
        }

        return null;
    }

    /// <summary>Drops every expired result, so its memory and file are freed even if nobody reads it again.</summary>
    private void Sweep()
    {
        var files = new FileChores();
        lock (_lock)
        {
            // A scan every sweep interval costs less than keeping a second index ordered by expiry on every put.
            var now = _time.GetUtcNow();
            List<Entry>? expired = null;
            foreach (var entry in _entries.Values)
            {
                if (entry.RecordExpiresAt <= now)
                {
                    (expired ??= []).Add(entry);
                }
                else if (entry.ExpiresAt <= now)
                {
                    ExpireAudio(entry, ref files);
                }
            }

            foreach (var entry in expired ?? [])
            {
                Drop(entry, ref files);
                _expirations++;
            }
        }

        files.DeleteNow();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing the audio of task {TaskId} to {Directory} failed (disk full or not writable); it was evicted")]
    private partial void LogSpillFailed(string taskId, string directory);
}
