using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Results;

/// <summary>A shared result store (cluster mode: Redis) with a write-behind buffer in front: a result that cannot be written at once
/// (the store is down or slow) is held in this process, answered from here, and written again until it lands or expires.</summary>
/// <remarks>
/// A task's end is not held up by an outage: <see cref="Put"/> waits at most <see cref="PutWait"/> for the store, then leaves the write
/// to the retry loop. Held audio is bounded by the pending budget; past it a result is held without its audio and says
/// <see cref="ResultAudio.Expired"/> (410), as an evicted one would. The retry loop tries the oldest result first, backs off while the
/// store keeps failing (<see cref="s_backoff"/>), and drops results whose expiry passes. Results held here are lost with the process.
/// </remarks>
public sealed partial class WriteBehindResultStore : IResultStore, IDisposable
{
    /// <summary>Waits between attempts while the store keeps failing, the last one repeated.</summary>
    private static readonly TimeSpan[] s_backoff = [TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)];

    private readonly IResultStore _inner;
    private readonly long _budget;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Held> _held = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private long _heldAudioBytes;
    private long _order;
    private Task? _retrying;

    /// <summary>Puts <paramref name="inner"/> behind a write-behind buffer of at most <paramref name="pendingBudgetBytes"/> of audio.</summary>
    public WriteBehindResultStore(IResultStore inner, long pendingBudgetBytes, TimeProvider time, ILogger<WriteBehindResultStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegative(pendingBudgetBytes);
        _inner = inner;
        _budget = pendingBudgetBytes;
        _time = time;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The longest a put waits for the store before the result is held here and written behind.</summary>
    public TimeSpan PutWait { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Results held here, not yet in the store.</summary>
    public int PendingCount => _held.Count;

    /// <summary>Bytes of audio held here, not yet in the store.</summary>
    public long PendingAudioBytes => Interlocked.Read(ref _heldAudioBytes);

    /// <inheritdoc/>
    public bool HoldsLocally(string taskId) => _held.ContainsKey(taskId);

    public async ValueTask Put(string taskId, TaskSnapshot record, AudioResult? audio, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        ArgumentNullException.ThrowIfNull(record);
        if (_held.IsEmpty)
        {
            var write = _inner.Put(taskId, record, audio, expiresAt, cancellationToken).AsTask();
            try
            {
                await write.WaitAsync(PutWait, _time, cancellationToken);
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                // Failed, or still waiting on the store: held and written behind (a late success of this write only writes it twice).
                _ = write.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                LogHeld(taskId, e is TimeoutException ? "the store did not answer in time" : e.GetType().Name + ": " + e.Message);
            }
        }

        // Held results go first, in order: a put behind them waits its turn rather than overtake (and they are failing anyway).
        Hold(taskId, record, audio, expiresAt);
    }

    public async ValueTask<TaskSnapshot?> GetRecord(string taskId, CancellationToken cancellationToken = default) =>
        _held.TryGetValue(taskId, out var held) ? Visible(held) : await _inner.GetRecord(taskId, cancellationToken);

    public async ValueTask<AudioResult?> GetAudio(string taskId, CancellationToken cancellationToken = default) =>
        _held.TryGetValue(taskId, out var held) ? (held.ExpiresAt > _time.GetUtcNow() ? held.Audio : null) : await _inner.GetAudio(taskId, cancellationToken);

    public async ValueTask Remove(string taskId, CancellationToken cancellationToken = default)
    {
        if (_held.TryRemove(taskId, out var held))
        {
            Release(held);
        }

        await _inner.Remove(taskId, cancellationToken);
    }

    public ValueTask<ResultStoreStatistics> GetStatistics(CancellationToken cancellationToken = default) => _inner.GetStatistics(cancellationToken);

    public void Dispose()
    {
        _stopping.Cancel();
        if (!_held.IsEmpty)
        {
            LogLost(_held.Count);
        }

        _stopping.Dispose();
    }

    /// <summary>A held record as the store would give it: audio that was kept reads as expired once its expiry passes.</summary>
    private TaskSnapshot Visible(Held held)
    {
        var record = StoredRecord.Of(held.Record, held.Audio is not null);
        return record.Audio == ResultAudio.Kept && held.ExpiresAt <= _time.GetUtcNow() ? record with { Audio = ResultAudio.Expired } : record;
    }

    private void Hold(string taskId, TaskSnapshot record, AudioResult? audio, DateTimeOffset expiresAt)
    {
        var bytes = audio?.Data.Length ?? 0L;
        lock (_lock)
        {
            if (bytes > 0 && _heldAudioBytes + bytes > _budget)
            {
                // Past the budget: the record is kept, its audio not, and a reader hears that it expired (410) as for an evicted one.
                LogAudioDropped(taskId, bytes);
                record = record with { Audio = ResultAudio.Expired };
                audio = null;
                bytes = 0;
            }

            var held = new Held(record, audio, expiresAt, bytes, ++_order);
            if (_held.TryGetValue(taskId, out var previous))
            {
                Release(previous);
            }

            _held[taskId] = held;
            _heldAudioBytes += bytes;
            _retrying ??= Task.Run(RetryLoop);
        }
    }

    private void Release(Held held) => Interlocked.Add(ref _heldAudioBytes, -held.AudioBytes);

    /// <summary>Writes the held results, oldest first, until none is left; backs off while the store keeps failing.</summary>
    private async Task RetryLoop()
    {
        var failures = 0;
        var written = 0;
        while (!_stopping.IsCancellationRequested)
        {
            var next = Oldest();
            if (next is not var (taskId, held))
            {
                lock (_lock)
                {
                    if (_held.IsEmpty)
                    {
                        _retrying = null;
                        LogDrained(written);
                        return;
                    }
                }

                continue;
            }

            if (held.ExpiresAt <= _time.GetUtcNow())
            {
                Forget(taskId, held);
                continue;
            }

            try
            {
                await _inner.Put(taskId, held.Record, held.Audio, held.ExpiresAt, _stopping.Token);
                Forget(taskId, held);
                written++;
                failures = 0;
            }
            catch (Exception) when (!_stopping.IsCancellationRequested)
            {
                var wait = s_backoff[Math.Min(failures++, s_backoff.Length - 1)];
                try
                {
                    await Task.Delay(wait, _time, _stopping.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            catch (Exception)
            {
                return;
            }
        }
    }

    private (string TaskId, Held Held)? Oldest()
    {
        (string, Held)? oldest = null;
        foreach (var (taskId, held) in _held)
        {
            if (oldest is not { } found || held.Order < found.Item2.Order)
            {
                oldest = (taskId, held);
            }
        }

        return oldest;
    }

    /// <summary>Forgets a held result, unless a newer put replaced it meanwhile.</summary>
    private void Forget(string taskId, Held held)
    {
        if (_held.TryRemove(new KeyValuePair<string, Held>(taskId, held)))
        {
            Release(held);
        }
    }

    private sealed record Held(TaskSnapshot Record, AudioResult? Audio, DateTimeOffset ExpiresAt, long AudioBytes, long Order);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: the result store did not take its result ({Reason}); it is held here and written when the store is back")]
    private partial void LogHeld(string taskId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: its {Bytes} bytes of audio are past the write-behind budget and are not kept (its record is)")]
    private partial void LogAudioDropped(string taskId, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "The result store is back: {Count} held results written")]
    private partial void LogDrained(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} results not yet written to the result store are lost with this process")]
    private partial void LogLost(int count);
}
