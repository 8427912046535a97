using System.Collections.Concurrent;
using Orleans.Serialization;
using Orleans.Storage;

namespace MitTts.Tests.Support;

/// <summary>Grain storage kept outside every silo (a process-wide dictionary), standing in for Redis in tests that kill silos.</summary>
/// <remarks>States are deep-copied in and out, as a real store would serialize them. <see cref="Hold"/> stalls one silo's writes of
/// some grains, as a slow or unreachable Redis would. Versions are checked as Redis's provider checks them: a write or clear whose ETag is
/// not the stored one's (none when there is no record) is an <see cref="InconsistentStateException"/>; <see cref="WriteElsewhere"/>
/// stands for another activation's write.</remarks>
public sealed class SharedGrainStorage(string name, DeepCopier copier, SiloAddress? silo = null) : IGrainStorage
{
    private static readonly ConcurrentDictionary<string, (object State, string ETag)> s_records = new();
    private static readonly ConcurrentDictionary<WriteHold, byte> s_holds = new();

    /// <summary>Holds the writes that <paramref name="silo"/> makes of grains whose id contains <paramref name="grainKey"/> until the
    /// hold is released (they then land, in order) or abandoned (they never land nor answer: the silo died with them in flight).</summary>
    public static WriteHold Hold(SiloAddress silo, string grainKey)
    {
        var hold = new WriteHold(silo, grainKey);
        s_holds[hold] = 0;
        return hold;
    }

    private string Key(string stateName, GrainId grainId) => $"{name}/{stateName}/{grainId}";

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        if (s_records.TryGetValue(Key(stateName, grainId), out var record))
        {
            grainState.State = copier.Copy((T)record.State);
            grainState.ETag = record.ETag;
            grainState.RecordExists = true;
        }

        return Task.CompletedTask;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        foreach (var hold in s_holds.Keys)
        {
            if (hold.Silo.Equals(silo) && grainId.ToString().Contains(hold.GrainKey, StringComparison.Ordinal))
            {
                Interlocked.Increment(ref hold.HeldWrites);
                if (!await hold.Released)
                {
                    await new TaskCompletionSource().Task;
                }
            }
        }

        var key = Key(stateName, grainId);
        CheckVersion(key, grainState.ETag);
        var etag = Guid.NewGuid().ToString("N");
        s_records[key] = (copier.Copy(grainState.State)!, etag);
        grainState.ETag = etag;
        grainState.RecordExists = true;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = Key(stateName, grainId);
        CheckVersion(key, grainState.ETag);
        s_records.TryRemove(key, out _);
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    /// <summary>Whether a record is stored for a grain whose id contains <paramref name="grainKey"/>.</summary>
    public static bool Holds(string grainKey) => s_records.Keys.Any(key => key.Contains(grainKey, StringComparison.Ordinal));

    /// <summary>Another activation's write of every stored grain whose id contains <paramref name="grainKey"/>: the same state under a new
    /// version, so the activation that read the old one meets a version conflict at its next write.</summary>
    public static int WriteElsewhere(string grainKey)
    {
        var written = 0;
        foreach (var (key, record) in s_records)
        {
            if (key.Contains(grainKey, StringComparison.Ordinal) && s_records.TryUpdate(key, (record.State, Guid.NewGuid().ToString("N")), record))
            {
                written++;
            }
        }

        return written;
    }

    private static void CheckVersion(string key, string? etag)
    {
        var stored = s_records.TryGetValue(key, out var record) ? record.ETag : null;
        if (!string.Equals(stored ?? string.Empty, etag ?? string.Empty, StringComparison.Ordinal))
        {
            throw new InconsistentStateException($"Version conflict: {key} is at version '{stored}', the write expected '{etag}'.", stored, etag);
        }
    }

    /// <summary>A hold on one silo's writes of some grains (<see cref="Hold"/>).</summary>
    public sealed class WriteHold(SiloAddress silo, string grainKey)
    {
        private readonly TaskCompletionSource<bool> _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        internal int HeldWrites;

        public SiloAddress Silo { get; } = silo;

        public string GrainKey { get; } = grainKey;

        /// <summary>How many writes met the hold.</summary>
        public int Writes => Volatile.Read(ref HeldWrites);

        internal Task<bool> Released => _released.Task;

        /// <summary>Lets the held writes land.</summary>
        public void Release() => End(true);

        /// <summary>Drops the held writes: they never land.</summary>
        public void Abandon() => End(false);

        private void End(bool land)
        {
            s_holds.TryRemove(this, out _);
            _released.TrySetResult(land);
        }
    }
}
