using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Channels;

/// <summary>A session's numbered events, kept for a resume window so a reader that reconnects gets what it missed.</summary>
/// <remarks>Numbers run 1, 2, 3… with no gap. <see cref="Released"/> is how far readers may read: everything in memory mode, only what
/// has been saved in durable mode, so no reader ever holds an event that a restored channel does not know about; a reader that outlives
/// the channel may read on past it, as the channel lets it (<see cref="TryGet"/>), and tells a restored channel what it holds. Read events go after
/// the resume window or past the resume buffer; unread ones only past the hard cap on unsent bytes. An audio event leaves its own array
/// for <see cref="ResumeAudio"/>'s blocks once it is read, or once it has waited <see cref="UnreadAge"/> for a reader (one held back by
/// its socket, or none connected), so no piece lives long enough on the collected heap to be promoted; a reader or a resume then gets
/// it back as a new event.</remarks>
public sealed class ResumeLog(TimeSpan window, long bufferBytes, long maxUnsentBytes)
{
    private readonly List<Entry> _entries = [];
    private readonly ResumeAudio _audio = new();
    private int _start;
    private long _bytes;
    private long _keptThrough;

    /// <summary>How long an unread audio event keeps its own array: a reader that is keeping up takes it well within this.</summary>
    public static readonly TimeSpan UnreadAge = TimeSpan.FromMilliseconds(50);

    /// <summary>Bytes of audio held.</summary>
    public long Bytes => _bytes;

    /// <summary>The lowest number still kept; one past <see cref="LastSequence"/> when none is.</summary>
    public long FirstKept => _start < _entries.Count ? _entries[_start].Mark.Sequence : LastSequence + 1;

    /// <summary>Bytes of memory the blocks of the audio moved out of its arrays take (whole blocks: at most one block more than that
    /// audio).</summary>
    public long BlockBytes => _audio.Capacity;

    /// <summary>The highest number handed out.</summary>
    public long LastSequence { get; private set; }

    /// <summary>The highest number readers may read.</summary>
    public long Released { get; private set; }

    /// <summary>The highest number a reader has read (asked past).</summary>
    public long ReadThrough { get; private set; }

    /// <summary>Continues the numbering after <paramref name="sequence"/> (a restored channel).</summary>
    public void ContinueAfter(long sequence)
    {
        LastSequence = sequence;
        Released = sequence;
        ReadThrough = sequence;
        _keptThrough = sequence;
    }

    /// <summary>Numbers <paramref name="channelEvent"/> and keeps it; <paramref name="release"/> lets readers have it at once.</summary>
    public ChannelEvent Append(ChannelEvent channelEvent, AudioPosition position, DateTimeOffset now, bool release)
    {
        ArgumentNullException.ThrowIfNull(channelEvent);
        var numbered = channelEvent with { Sequence = ++LastSequence };
        _entries.Add(new Entry(numbered, now, new EventMark(numbered.Sequence, numbered.TaskId, position, numbered is TaskEndedEvent)));
        _bytes += (numbered as AudioEvent)?.Audio.Length ?? 0;
        if (release)
        {
            Released = LastSequence;
        }

        MoveToBlocks(now - UnreadAge);
        Trim(now);
        return numbered;
    }

    /// <summary>Lets readers have every event up to <paramref name="sequence"/> (it has been saved).</summary>
    public void Release(long sequence) => Released = Math.Max(Released, Math.Min(sequence, LastSequence));

    /// <summary>The released event numbered <paramref name="sequence"/>, or the oldest one kept when that one is gone; with
    /// <paramref name="early"/>, also an unreleased one that it lets go early (the reader reads in order, so every event before it was
    /// released or let go early too).</summary>
    public bool TryGet(long sequence, Func<EventMark, bool>? early, out ChannelEvent channelEvent, out EventMark mark)
    {
        channelEvent = null!;
        mark = default;
        if (_start >= _entries.Count || sequence > (early is null ? Released : LastSequence))
        {
            return false;
        }

        // Audio an interrupt dropped is passed over: its numbers stay taken, nobody hears it again.
        var asked = IndexOf(sequence);
        var index = asked;
        while (index < _entries.Count && _entries[index].Skipped)
        {
            index++;
        }

        if (index >= _entries.Count)
        {
            return false;
        }

        var entry = _entries[index];
        if (entry.Mark.Sequence > Released && (early is null || !early(entry.Mark)))
        {
            return false;
        }

        mark = entry.Mark;
        channelEvent = entry.Event ?? new AudioEvent(
            mark.Sequence, mark.TaskId!, entry.RequestId, entry.ContextId, _audio.Read(entry.AudioAt, entry.AudioLength), entry.Progress);
        if (index != asked && _entries[asked].Mark.Sequence == sequence)
        {
            // The reader's next number was passed over (not dropped for memory, which removes entries): it must not report a loss.
            channelEvent = channelEvent with { AfterPassedOver = true };
        }

        return true;
    }

    /// <summary>A reader has event <paramref name="sequence"/>: the audio read so far moves into the blocks.</summary>
    public void Acknowledge(long sequence)
    {
        ReadThrough = Math.Max(ReadThrough, sequence);
        MoveToBlocks(DateTimeOffset.MinValue);
    }

    /// <summary>Passes over the events of <paramref name="taskIds"/> numbered after <paramref name="heardThrough"/>, the last its client
    /// was sent when it interrupted them: a reader (a resume) never gets that audio, which the socket dropped, again.</summary>
    public void Skip(IReadOnlyCollection<string> taskIds, long heardThrough)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        for (var i = _start; i < _entries.Count; i++)
        {
            var entry = _entries[i];
            if (entry.Mark.Sequence > heardThrough && entry.Mark.TaskId is { } taskId && taskIds.Contains(taskId))
            {
                _entries[i] = entry with { Skipped = true };
            }
        }
    }

    /// <summary>Each task with an event after <see cref="ReadThrough"/> (no reader has had it yet), once, in order: what a barge-in must
    /// still stop though the channel is done with it (its synthesis ended, its events wait for the reader).</summary>
    public List<ChannelTaskInfo> UnreadTasks()
    {
        var tasks = new List<ChannelTaskInfo>();
        for (var i = _start; i < _entries.Count; i++)
        {
            var entry = _entries[i];
            if (entry.Mark.Sequence <= ReadThrough || entry.Skipped || entry.Mark.TaskId is not { } taskId || tasks.Exists(t => t.TaskId == taskId))
            {
                continue;
            }

            tasks.Add(entry.Event is { } channelEvent
                ? new ChannelTaskInfo(taskId, channelEvent.RequestId, channelEvent.ContextId)
                : new ChannelTaskInfo(taskId, entry.RequestId, entry.ContextId));
        }

        return tasks;
    }

    /// <summary>The marks of events after <see cref="ReadThrough"/> up to <paramref name="through"/>: what a restored channel needs to
    /// know where a reader that had any of them stands.</summary>
    public List<EventMark> UnreadMarks(long through)
    {
        var marks = new List<EventMark>();
        for (var i = _start; i < _entries.Count; i++)
        {
            var mark = _entries[i].Mark;
            if (mark.Sequence > ReadThrough && mark.Sequence <= through)
            {
                marks.Add(mark);
            }
        }

        return marks;
    }

    /// <summary>Drops the events a reader has read (kept only for a resume) and, with <paramref name="unread"/>, also the released ones
    /// nobody has read yet: the silo needs the memory. Returns the bytes freed.</summary>
    public long Shed(bool unread)
    {
        var before = _bytes;
        var through = unread ? Math.Max(Released, ReadThrough) : ReadThrough;
        while (_start < _entries.Count && _entries[_start].Mark.Sequence <= through)
        {
            DropOldest();
        }

        _entries.RemoveRange(0, _start);
        _start = 0;
        ReleaseSpare();
        return before - _bytes;
    }

    /// <summary>Forgets every event (the session was abandoned).</summary>
    public void Clear()
    {
        _entries.Clear();
        _audio.Clear();
        _start = 0;
        _bytes = 0;
        ReleaseSpare();
    }

    /// <summary>Gives back the list's spare room: a session that streamed a long answer and went quiet would otherwise hold an array
    /// sized for that answer for as long as its channel stays active (hundreds of idle channels held 200 MB in a soak).</summary>
    private void ReleaseSpare()
    {
        if (_entries.Capacity > 64 && _entries.Count < _entries.Capacity / 4)
        {
            _entries.TrimExcess();
        }
    }

    private void Trim(DateTimeOffset now)
    {
        while (_entries.Count - _start > 1 && CanTrimOldest(now))
        {
            DropOldest();
        }

        // Trimmed entries leave the list in bulk, so trimming stays O(1) per event.
        if (_start > 1024 && _start > _entries.Count / 2)
        {
            _entries.RemoveRange(0, _start);
            _start = 0;
        }
    }

    private bool CanTrimOldest(DateTimeOffset now)
    {
        var oldest = _entries[_start];
        if (_bytes > maxUnsentBytes && oldest.Mark.Sequence <= Released)
        {
            return true;
        }

        return oldest.Mark.Sequence <= ReadThrough && (_bytes > bufferBytes || now - oldest.At > window);
    }

    /// <summary>Moves the audio of events read, or appended at or before <paramref name="appendedBy"/>, into the blocks, oldest
    /// first (the blocks hold audio in the order of the events).</summary>
    private void MoveToBlocks(DateTimeOffset appendedBy)
    {
        if (_start >= _entries.Count)
        {
            return;
        }

        for (var i = IndexOf(_keptThrough + 1); i < _entries.Count; i++)
        {
            var entry = _entries[i];
            if (entry.Mark.Sequence > ReadThrough && entry.At > appendedBy)
            {
                break;
            }

            if (entry.Event is AudioEvent audio)
            {
                _entries[i] = entry with
                {
                    Event = null, AudioAt = _audio.Write(audio.Audio), AudioLength = audio.Audio.Length, RequestId = audio.RequestId,
                    ContextId = audio.ContextId, Progress = audio.Progress,
                };
            }

            _keptThrough = entry.Mark.Sequence;
        }
    }

    /// <summary>Where event <paramref name="sequence"/> is in the list, or the oldest kept one when it is gone.</summary>
    private int IndexOf(long sequence) => _start + (int)Math.Max(0, sequence - _entries[_start].Mark.Sequence);

    private void DropOldest()
    {
        var oldest = _entries[_start];
        if (oldest.Event is null)
        {
            _bytes -= oldest.AudioLength;
            _audio.ReleaseBefore(oldest.AudioAt + oldest.AudioLength);
        }
        else
        {
            _bytes -= (oldest.Event as AudioEvent)?.Audio.Length ?? 0;
        }

        _entries[_start++] = default;
    }

    /// <summary>A kept event: <see cref="Event"/> itself, or for audio a reader has, null and where its bytes are in the blocks with
    /// what rebuilds the event.</summary>
    private readonly record struct Entry(
        ChannelEvent? Event,
        DateTimeOffset At,
        EventMark Mark,
        long AudioAt = 0,
        int AudioLength = 0,
        string? RequestId = null,
        string? ContextId = null,
        double Progress = 0,
        bool Skipped = false);
}
