using System.Runtime.CompilerServices;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Channels;

/// <summary>Readers: each asks for one answer at a time and has everything in it once it asks again. A reader in another process (a
/// client gateway) gets the events that are already there in one answer (<see cref="ChannelEvent.Following"/>), and a task's start
/// waits a moment for its first audio to go with it: each answer costs that reader a round trip between processes, and the first audio
/// would otherwise wait at the channel for the ask that follows the start.</summary>
public sealed partial class AudioChannelGrain
{
    // The most events and audio bytes one answer to a reader in another process holds.
    private const int MaxEventsPerAnswer = 32;
    private const int MaxAudioBytesPerAnswer = 256 * 1024;

    async IAsyncEnumerable<ChannelEvent> IAudioChannelGrain.Listen(long afterSequence, ChannelReader? reader, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (_restoredMarks is not null)
        {
            ResumeFor(afterSequence, reader?.Held);
        }

        var early = EarlyFor(reader);
        var remote = IsRemote(reader);
        var marks = new List<EventMark>();
        var following = new List<ChannelEvent>();

        // The newest reader owns the channel: a client that reconnected elsewhere ends the old connection's reading.
        var generation = ++_listenerGeneration;
        _listeners++;
        _abandonTimer?.Dispose();
        _abandonTimer = null;
        Signal();
        try
        {
            var next = afterSequence + 1;
            while (generation == _listenerGeneration)
            {
                while (_log.TryGet(next, early, out var channelEvent, out var mark))
                {
                    next = channelEvent.Sequence + 1;
                    var answer = Outgoing(channelEvent, mark);
                    marks.Add(mark);
                    if (remote)
                    {
                        if (channelEvent is TaskStartedEvent started && HoldsForAudio(started))
                        {
                            await AwaitEvent(next, early, cancellationToken);
                        }

                        next = Gather(next, early, answer, marks, following);
                        if (following.Count > 0)
                        {
                            answer = answer with { Following = [.. following] };
                            following.Clear();
                        }
                    }

                    yield return answer;

                    // Asked again: the reader has everything in the answer (readers ask one answer at a time, so the ask is theirs).
                    foreach (var read in marks)
                    {
                        Acknowledge(read);
                    }

                    marks.Clear();
                    if (generation != _listenerGeneration)
                    {
                        yield break;
                    }
                }

                await _changed.Task.WaitAsync(cancellationToken);
            }
        }
        finally
        {
            _listeners--;
            if (_listeners == 0)
            {
                _abandonTimer = this.RegisterGrainTimer(AbandonIfUnheard, new GrainTimerCreationOptions(ResumeWindow, Timeout.InfiniteTimeSpan) { Interleave = true });
            }
        }
    }

    /// <summary>Whether <paramref name="started"/> waits for its first audio: not when the hold is off, nor for a task whose audio comes
    /// whole at its end (<c>stream: false</c>).</summary>
    private bool HoldsForAudio(TaskStartedEvent started) =>
        options.Value.FirstAudioHoldMs > 0 && !(started.TaskId is { } taskId && _tasks.TryGet(taskId, out var item) && item.Info.Whole);

    /// <summary>A reader whose process is not this silo's: a client gateway (no silo) or a gateway co-hosted by another silo.</summary>
    private bool IsRemote(ChannelReader? reader) =>
        reader is not null && !string.Equals(reader.Silo, localSilo.SiloAddress.ToParsableString(), StringComparison.Ordinal);

    /// <summary><paramref name="channelEvent"/> as a reader gets it: timed, and with its note when it goes before it is saved.</summary>
    private ChannelEvent Outgoing(ChannelEvent channelEvent, EventMark mark)
    {
        TimeFirstRead(channelEvent.Sequence);
        return mark.Sequence > _log.Released ? channelEvent with { Unsaved = NoteOf(mark) } : channelEvent;
    }

    /// <summary>Adds the events from <paramref name="next"/> on that a reader may have now to <paramref name="following"/>, within one
    /// answer's bounds; returns the number after the last one added.</summary>
    private long Gather(long next, Func<EventMark, bool>? early, ChannelEvent first, List<EventMark> marks, List<ChannelEvent> following)
    {
        var bytes = (first as AudioEvent)?.Audio.Length ?? 0;
        while (following.Count + 1 < MaxEventsPerAnswer && bytes < MaxAudioBytesPerAnswer && _log.TryGet(next, early, out var channelEvent, out var mark))
        {
            next = channelEvent.Sequence + 1;
            bytes += (channelEvent as AudioEvent)?.Audio.Length ?? 0;
            following.Add(Outgoing(channelEvent, mark));
            marks.Add(mark);
        }

        return next;
    }

    /// <summary>Waits up to <see cref="ChannelOptions.FirstAudioHoldMs"/> for event <paramref name="next"/> to be there for the reader
    /// (the start's round trip takes about a millisecond between two processes on a quiet machine); returns at once when it is.</summary>
    private async Task AwaitEvent(long next, Func<EventMark, bool>? early, CancellationToken cancellationToken)
    {
        var deadline = time.GetTimestamp() + (long)(options.Value.FirstAudioHoldMs / 1000 * time.TimestampFrequency);
        while (!_log.TryGet(next, early, out _, out _))
        {
            var left = deadline - time.GetTimestamp();
            if (left <= 0)
            {
                return;
            }

            try
            {
                await _changed.Task.WaitAsync(TimeSpan.FromSeconds((double)left / time.TimestampFrequency), time, cancellationToken);
            }
            catch (TimeoutException)
            {
                return;
            }
        }
    }
}
