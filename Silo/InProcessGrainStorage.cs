using Orleans.Serialization;
using Orleans.Storage;

namespace MitTts.Silo;

/// <summary>Grain state held in this process's memory: the storage of the embedded server, where nothing outlives the process.</summary>
/// <remarks>Orleans' <c>MemoryGrainStorage</c> is a development aid that keeps state in storage grains, so every read and write of a
/// task or session was a grain call and a JSON round trip on the request path. Here a write stores a deep copy (the grain keeps
/// changing its own object) and a read hands out one, with the same ETag checks.</remarks>
public sealed class InProcessGrainStorage(DeepCopier copier) : IGrainStorage
{
    private readonly Dictionary<(string State, GrainId Grain), (object? State, string ETag)> _states = [];
    private readonly Lock _gate = new();
    private long _writes;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        lock (_gate)
        {
            if (_states.TryGetValue((stateName, grainId), out var stored))
            {
                grainState.State = stored.State is T state ? copier.Copy(state) : Activator.CreateInstance<T>();
                grainState.ETag = stored.ETag;
                grainState.RecordExists = true;
            }
        }

        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var copy = copier.Copy(grainState.State);
        lock (_gate)
        {
            var key = (stateName, grainId);
            CheckETag(key, grainState.ETag, stateName, grainId);
            var etag = (++_writes).ToString(System.Globalization.CultureInfo.InvariantCulture);
            _states[key] = (copy, etag);
            grainState.ETag = etag;
            grainState.RecordExists = true;
        }

        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        lock (_gate)
        {
            var key = (stateName, grainId);
            CheckETag(key, grainState.ETag, stateName, grainId);
            _states.Remove(key);
            grainState.ETag = null;
            grainState.RecordExists = false;
        }

        return Task.CompletedTask;
    }

    /// <summary>A write or clear must come from whoever read or wrote the record last (the ETag it was given), as with any provider.</summary>
    private void CheckETag((string, GrainId) key, string? etag, string stateName, GrainId grainId)
    {
        var current = _states.TryGetValue(key, out var stored) ? stored.ETag : null;
        if (!string.Equals(current, etag, StringComparison.Ordinal))
        {
            throw new InconsistentStateException($"The {stateName} state of {grainId} was changed by someone else.", current ?? "none", etag ?? "none");
        }
    }
}
