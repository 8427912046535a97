using System.Collections.Concurrent;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Results;

namespace MitTts.Tests.Support;

/// <summary>One silo's way into a result store shared by every silo (as Redis is in cluster mode), whose writes a test can stall: while
/// <see cref="Close"/>d they wait, as writes to a slow Redis do; once <see cref="Cut"/> they never land, as a killed silo's writes in
/// flight never do.</summary>
public sealed class GatedResultStore(IResultStore shared) : IResultStore
{
    private static readonly ConcurrentDictionary<SiloAddress, GatedResultStore> s_bySilo = new();

    private TaskCompletionSource<bool> _gate = Ended(true);

    /// <summary>The store that <paramref name="silo"/> writes through.</summary>
    public static GatedResultStore For(SiloAddress silo) => s_bySilo[silo];

    /// <summary>Registers the store <paramref name="silo"/> writes through.</summary>
    public static GatedResultStore Register(SiloAddress silo, IResultStore shared) => s_bySilo[silo] = new GatedResultStore(shared);

    /// <summary>Writes wait from now until <see cref="Open"/>.</summary>
    public void Close()
    {
        if (_gate.Task.IsCompleted)
        {
            _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Waiting writes land, and later ones go straight through.</summary>
    public void Open() => _gate.TrySetResult(true);

    /// <summary>Waiting writes, and every later one, never land nor answer.</summary>
    public void Cut()
    {
        _gate.TrySetResult(false);
        _gate = Ended(false);
    }

    public async ValueTask Put(string taskId, TaskSnapshot record, AudioResult? audio, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        if (!await _gate.Task)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        await shared.Put(taskId, record, audio, expiresAt, cancellationToken);
    }

    public ValueTask<TaskSnapshot?> GetRecord(string taskId, CancellationToken cancellationToken = default) => shared.GetRecord(taskId, cancellationToken);

    public ValueTask<AudioResult?> GetAudio(string taskId, CancellationToken cancellationToken = default) => shared.GetAudio(taskId, cancellationToken);

    public ValueTask Remove(string taskId, CancellationToken cancellationToken = default) => shared.Remove(taskId, cancellationToken);

    public ValueTask<ResultStoreStatistics> GetStatistics(CancellationToken cancellationToken = default) => shared.GetStatistics(cancellationToken);

    private static TaskCompletionSource<bool> Ended(bool land)
    {
        var gate = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult(land);
        return gate;
    }
}
