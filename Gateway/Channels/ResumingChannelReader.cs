using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Channels;

/// <summary>Reads one audio channel's events in order, one answer at a time (an answer may hold several, handed out one by one), and
/// listens again after the last one read when the listening breaks: in cluster mode a channel whose silo died comes back on another from its saved state, and its tasks go on there. The one
/// reader of the WebSocket's <c>ChannelPump</c>, <c>/v1/audio/speech</c> and Wyoming.</summary>
/// <remarks>Retries with a growing pause over about 15 s, and a silence check that asks the channel, when the reader has waited a while
/// for an event, whether it is still there and has released just what the reader got (more: an answer was lost; less, or
/// <see cref="AudioChannelReleases.AwaitingReader"/>: the channel came back on another silo, and waits for its reader): a call to a killed silo, or one whose answer was
/// on its way through a silo gateway that died, otherwise waits out Orleans' 30 s response timeout, and the channel may have let go of
/// the events that answer held (they count as read) by then. An event missing from the numbering
/// is told to <see cref="ChannelReading.OnGap"/>, or without one is a <see cref="ChannelStreamBrokenException"/>; so is a listening that
/// cannot be restored.</remarks>
/// <remarks>Events the channel sent before saving them (a reader in a client gateway, <see cref="ChannelReaderHome"/>) come with a note
/// (their mark, and their task while no save knows it); the reader keeps those until the channel says it saved them, and hands them to
/// the channel when it listens again, so a channel restored from an older save knows where the reader stands.</remarks>
public sealed partial class ResumingChannelReader(
    IAudioChannelGrain channel, long after, string stream, ILogger logger, ChannelReaderHome home, ChannelReading? reading = null, TimeProvider? time = null)
    : IAsyncDisposable
{
    private const int MaxListenRetries = 10;

    private static readonly TimeSpan s_silenceCheck = TimeSpan.FromSeconds(2);

    private readonly ILogger _logger = logger;
    private readonly ChannelReading _reading = reading ?? ChannelReading.OwnTasks;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private IAsyncEnumerator<ChannelEvent>? _events;
    private CancellationTokenSource? _listening;
    private Task _watch = Task.CompletedTask;
    private readonly List<UnsavedEvent> _unsaved = [];

    // Events of the last answer not handed out yet: read (the channel counts them read once this reader asks again).
    private readonly Queue<ChannelEvent> _ready = new();
    private long _after = after;
    private long _waitingSince;
    private int _failures;

    /// <summary>The number of the last event read.</summary>
    public long LastSequence => _after;

    /// <summary>The next event of the channel, however many times its listening has to start again to get it; null only when the
    /// channel let this reader go and <see cref="ChannelReading.EndIsTakeover"/> says that is final.</summary>
    public async ValueTask<ChannelEvent?> Next(CancellationToken cancellationToken)
    {
        if (_ready.TryDequeue(out var ready))
        {
            return ready;
        }

        while (true)
        {
            Exception? failure;
            try
            {
                _events ??= StartListening(cancellationToken);
                var move = _events.MoveNextAsync();
                bool moved;
                if (move.IsCompleted)
                {
                    moved = move.Result;
                }
                else
                {
                    // A listening the watch gives up on ends this wait at once: a call stuck on a dead connection (the silo gateway it
                    // went through died) would otherwise hold the reader for Orleans' 30 s response timeout, past the resume window.
                    Volatile.Write(ref _waitingSince, _time.GetTimestamp());
                    try
                    {
                        moved = await move.AsTask().WaitAsync(_listening!.Token);
                    }
                    finally
                    {
                        Volatile.Write(ref _waitingSince, 0);
                    }
                }

                if (moved)
                {
                    var current = _events.Current;
                    var first = Take(current) ? current : null;
                    foreach (var following in current.Following ?? [])
                    {
                        if (Take(following))
                        {
                            if (first is null)
                            {
                                first = following;
                            }
                            else
                            {
                                _ready.Enqueue(following);
                            }
                        }
                    }

                    if (first is null)
                    {
                        continue;
                    }

                    _failures = 0;
                    return first;
                }

                if (_reading.EndIsTakeover)
                {
                    return null;
                }

                // The channel let its reader go although the task has not ended (a restarted channel, an activation going away).
                failure = null;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (ChannelStreamBrokenException)
            {
                throw;
            }
            catch (Exception e)
            {
                failure = e;
            }

            await StopListening();
            if (++_failures > MaxListenRetries)
            {
                throw new ChannelStreamBrokenException("The audio stream from the cluster broke and could not be resumed.", failure);
            }

            LogListenRetry(stream, _after, _failures, failure?.Message ?? "listening ended");
            await Task.Delay(TimeSpan.FromMilliseconds(250 * _failures), _time, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync() => await StopListening();

    /// <summary>Takes <paramref name="channelEvent"/> as read, one of an answer's events (<see cref="ChannelEvent.Following"/>); false for
    /// one read before (a listening that started again sends from the last event read on).</summary>
    private bool Take(ChannelEvent channelEvent)
    {
        if (channelEvent.Sequence <= _after)
        {
            return false;
        }

        if (channelEvent.Sequence != _after + 1 && !channelEvent.AfterPassedOver)
        {
            if (_reading.OnGap is not { } onGap)
            {
                throw new ChannelStreamBrokenException($"Events {_after + 1} to {channelEvent.Sequence - 1} of the audio stream are no longer kept.", null);
            }

            onGap(_after, channelEvent.Sequence);
        }

        _after = channelEvent.Sequence;
        KeepUnsaved(channelEvent.Unsaved);
        return true;
    }

    private IAsyncEnumerator<ChannelEvent> StartListening(CancellationToken cancellationToken)
    {
        _listening = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _watch = WatchForSilence(_listening);
        // One event per answer: the channel counts an event as read when the next is asked for, and within a batch Orleans asks on the
        // silo side, before the batch has reached this reader. A batch lost with its silo gateway would then count as read, and a
        // channel restored after a silo death keeps nothing of what it counts as read.
        return channel.Listen(_after, new ChannelReader(home.Silo, _unsaved.ToArray()), _listening.Token).WithBatchSize(1).GetAsyncEnumerator(_listening.Token);
    }

    /// <summary>The notes of the events read that the channel had not saved when it sent them, oldest first: an event without a note
    /// was saved, and so was everything before it.</summary>
    private void KeepUnsaved(UnsavedEvent? unsaved)
    {
        if (unsaved is null)
        {
            _unsaved.Clear();
            return;
        }

        var saved = 0;
        while (saved < _unsaved.Count && _unsaved[saved].Mark.Sequence <= unsaved.SavedThrough)
        {
            saved++;
        }

        _unsaved.RemoveRange(0, saved);
        _unsaved.Add(unsaved);
    }

    private async Task StopListening()
    {
        if (_listening is null)
        {
            return;
        }

        await _listening.CancelAsync();
        await _watch;
        _listening.Dispose();
        _listening = null;
        var events = _events;
        _events = null;
        if (events is not null)
        {
            // Not awaited: disposing an enumeration whose silo died would wait out the response timeout.
            _ = DisposeQuietly(events);
        }
    }

    /// <summary>While the reader has waited a while for an event that is expected, checks that the channel answers and has released
    /// nothing past the last event read; when it does not answer, or has events this listening did not bring, ends the listening so it
    /// starts again (on the channel's new home, or past a connection that died under an answer in flight).</summary>
    private async Task WatchForSilence(CancellationTokenSource listening)
    {
        try
        {
            while (!listening.IsCancellationRequested)
            {
                await Task.Delay(s_silenceCheck, _time, listening.Token);
                var waitingSince = Volatile.Read(ref _waitingSince);
                var silent = waitingSince != 0 && _time.GetElapsedTime(waitingSince) >= s_silenceCheck;
                if (!silent || !_reading.ExpectingEvents())
                {
                    continue;
                }

                // More released than this listening brought: its answer was lost. Less than this reader read (it read before saves, and
                // a live channel has saved that long since), or AwaitingReader: the channel came back on another silo and waits for its
                // first reader to say what it holds, while this listening waits on the dead one (whose call Orleans may not end for
                // many seconds). A save that held just what the reader read would answer the same number as a live channel, so a
                // restored channel says so itself.
                var after = _after;
                var released = await channel.GetLastReleased().WaitAsync(s_silenceCheck, _time, listening.Token);
                if (released != after && Volatile.Read(ref _waitingSince) == waitingSince)
                {
                    LogStuck(stream, after, released);
                    await listening.CancelAsync();
                }
            }
        }
        catch (OperationCanceledException) when (listening.IsCancellationRequested)
        {
            // The listening ended.
        }
        catch (Exception e)
        {
            // No answer, however it failed: a timeout, a silo gone, or a cancellation this reader never asked for (a silo shutting
            // down refuses a call it cannot place that way). Only a listening given up keeps the reading going: a watch that died of
            // the check would leave a stuck listening waiting for good.
            LogSilent(stream, _after, e.Message);
            await listening.CancelAsync();
        }
    }

    private static async Task DisposeQuietly(IAsyncEnumerator<ChannelEvent> events)
    {
        try
        {
            await events.DisposeAsync();
        }
        catch (Exception e) when (e is OrleansException or TimeoutException or OperationCanceledException or InvalidOperationException)
        {
            // The channel's silo is gone, or the enumeration already ended.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Stream}: listening to the channel again after event {After} (attempt {Attempt}): {Reason}")]
    private partial void LogListenRetry(string stream, long after, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Stream}: the channel has released events to {Released} but the listening is waiting after {After}; listening again")]
    private partial void LogStuck(string stream, long after, long released);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Stream}: the channel did not answer a check after event {After} ({Reason}); listening again")]
    private partial void LogSilent(string stream, long after, string reason);
}

/// <summary>How a <see cref="ResumingChannelReader"/> treats what a WebSocket session's channel does and a channel of one client's own
/// tasks does not: idle spells, events dropped under a memory limit, another socket taking the session.</summary>
public sealed record ChannelReading
{
    /// <summary>A channel of one client's own tasks (<c>/v1</c>, Wyoming): checked whenever silent, a gap breaks the stream, and the
    /// listening's end is mended like a failure.</summary>
    public static ChannelReading OwnTasks { get; } = new();

    /// <summary>Whether events are due now: the silence check runs only while they are (an idle session is silent by right).</summary>
    public Func<bool> ExpectingEvents { get; init; } = static () => true;

    /// <summary>Told (last read, next) when events before the next one are no longer kept; null: such a gap breaks the stream.</summary>
    public Action<long, long>? OnGap { get; init; }

    /// <summary>Whether the channel ending the listening means another reader took it over (a session resumed on another socket).</summary>
    public bool EndIsTakeover { get; init; }
}

/// <summary>A channel's stream that cannot go on whole: events lost, or its listening could not be restored.</summary>
public sealed class ChannelStreamBrokenException(string message, Exception? innerException) : Exception(message, innerException);
