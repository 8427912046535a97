using System.Collections.Concurrent;
using Orleans.Serialization;
using Orleans.Storage;

namespace MitTts.Tests.Support;

/// <summary>Grain storage kept outside every silo (a process-wide dictionary), standing in for Redis in tests that kill silos.</summary>
/// <remarks>States are deep-copied in and out, as a real store would serialize them.</remarks>
public sealed class SharedGrainStorage(string name, DeepCopier copier) : IGrainStorage
{
    private static readonly ConcurrentDictionary<string, (object State, string ETag)> s_records = new();

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

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var etag = Guid.NewGuid().ToString("N");
        s_records[Key(stateName, grainId)] = (copier.Copy(grainState.State)!, etag);
        grainState.ETag = etag;
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        s_records.TryRemove(Key(stateName, grainId), out _);
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }
}
