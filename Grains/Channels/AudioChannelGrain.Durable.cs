using Microsoft.Extensions.Logging;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;
using Orleans.Storage;

namespace MitTts.Grains.Channels;

/// <summary>Durable (cluster) mode: the channel saves before it lets readers have events (a reader that outlives its silo may have most
/// of them at once, <see cref="EarlyFor"/>), and a channel restored after its silo died learns from its first reader where that reader
/// stands.</summary>
public sealed partial class AudioChannelGrain
{
    /// <summary>Durable mode: saves soon, one write in flight, later changes folded into the next; each save lets readers have the
    /// events it covers.</summary>
    private void MarkUnsaved()
    {
        if (!Durable)
        {
            return;
        }

        _unsaved = true;
        if (_saving.IsCompleted)
        {
            _saving = SaveLoop();
        }
    }

    private async Task SaveLoop()
    {
        // Yield first, so changes made in the same turn go out in one write.
        await Task.Yield();
        while (_unsaved && !_gone)
        {
            _unsaved = false;
            var through = _log.LastSequence;
            saved.State = Snapshot(through);
            try
            {
                await saved.WriteStateAsync();
            }
            catch (InconsistentStateException e)
            {
                // Another activation of this channel wrote after this one read: a silo shutting down saved its last state while the
                // channel was coming up here. That one is gone, and this one has gone on from what it read: take the record's version
                // and write this channel's state over it (retrying with the old version would fail forever, and readers would wait).
                LogSaveConflict(SessionId, e.Message);
                if (!await RefreshVersion())
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(200));
                }

                _unsaved = true;
                continue;
            }
            catch (Exception e)
            {
                // Storage is down (Redis): readers wait for the next save, which the next change (or this retry) makes.
                LogSaveFailed(SessionId, e);
                await Task.Delay(TimeSpan.FromMilliseconds(200));
                _unsaved = true;
                continue;
            }

            foreach (var item in _inSave)
            {
                item.Saved = true;
            }

            _inSave.Clear();
            _log.Release(through);
            Signal();
        }
    }

    /// <summary>Reads the stored record for its version alone (the next save replaces the state it reads); false when storage failed.</summary>
    private async Task<bool> RefreshVersion()
    {
        try
        {
            await saved.ReadStateAsync();
            return true;
        }
        catch (Exception e)
        {
            LogSaveFailed(SessionId, e);
            return false;
        }
    }

    private ChannelRecord Snapshot(long through)
    {
        var record = new ChannelRecord { LastSequence = through, Order = _tasks.Order, ReadThrough = _log.ReadThrough };
        _inSave.Clear();
        foreach (var item in _tasks.Known)
        {
            record.Items.Add(RecordOf(item));
            _inSave.Add(item);
        }

        foreach (var context in _contexts.Values)
        {
            record.Contexts.Add(new TextContextRecord(context.Id, context.Options, context.Language, context.Buffered, context.OpenTasks, context.Ended));
        }

        record.Marks.AddRange(_log.UnreadMarks(through));
        return record;
    }

    private void Restore(ChannelRecord record)
    {
        _log.ContinueAfter(record.LastSequence);
        foreach (var entry in record.Items)
        {
            RestoreItem(entry, record.Order, fromSave: true);
        }

        foreach (var entry in record.Contexts)
        {
            _contexts[entry.Id] = TextContext.Restore(entry);
        }

        _restoredMarks = [.. record.Marks];
        _readThroughAtRestore = record.ReadThrough;
        LogRestored(SessionId, _tasks.LineUp.Count, record.LastSequence);
    }

    private static ChannelItemRecord RecordOf(ChannelItem item) => new(item.Info, item.Request, item.Order, item.ReadStarted, item.Read);

    /// <summary>Takes up a task as a save (or a reader's note) held it.</summary>
    private void RestoreItem(ChannelItemRecord entry, long order, bool fromSave)
    {
        // A task whose whole file is wanted starts over to make it again: a stream:false task (which sends nothing before its file)
        // while its reader has none of it, and a kept streamed task, which sends only what comes after what its reader has (not Ogg,
        // whose pages a re-run cannot match). Any other task goes on from what its reader has, with no whole file.
        var fresh = entry.Info.Whole && entry.Read == new AudioPosition(0, 0, 0);
        var rebuild = !entry.Info.Whole && entry.Request.Store && entry.Request.Format != AudioFormat.Ogg;
        _tasks.Restore(new ChannelItem(entry.Info, entry.Request, entry.Order)
        {
            Started = entry.Started,
            ReadStarted = entry.Started,
            Received = rebuild ? new AudioPosition(0, 0, 0) : entry.Read,
            Read = entry.Read,
            Whole = fresh || rebuild ? new() : null,
            RebuildThrough = rebuild ? entry.Read : null,
            Saved = fromSave,
        }, order);
    }

    private long _readThroughAtRestore;

    // The tasks the save being written knows: once it is written, their events may go early.
    private readonly List<ChannelItem> _inSave = [];

    private Func<EventMark, bool>? _mayGoEarly;

    /// <summary>How a durable channel lets <paramref name="reader"/> read past what is saved: events of tasks a written save knows, and
    /// of tasks outside a text context once any save was written (their note carries the task); a context's events wait for a save that
    /// knows the context as it is (its text and open tasks). Only for a reader that would outlive this channel's silo and could tell a
    /// restored channel what it holds; null for any other reader, which reads only what is saved.</summary>
    private Func<EventMark, bool>? EarlyFor(ChannelReader? reader)
    {
        if (!Durable || reader is null || string.Equals(reader.Silo, localSilo.SiloAddress.ToParsableString(), StringComparison.Ordinal))
        {
            return null;
        }

        return _mayGoEarly ??= mark => mark.TaskId is { } taskId && _tasks.TryGet(taskId, out var item)
            && (item.Saved || (item.Info.ContextId is null && saved.RecordExists));
    }

    /// <summary>The note on an event a reader gets before it is saved: its mark, how far the channel has saved, and its task while no
    /// written save knows it.</summary>
    private UnsavedEvent NoteOf(EventMark mark) =>
        new(mark, _log.Released, mark.TaskId is { } taskId && _tasks.TryGet(taskId, out var item) && !item.Saved ? RecordOf(item) : null);

    /// <summary>The first reader of a restored channel holds every event up to <paramref name="afterSequence"/>, and of those it read
    /// before they were saved, the notes <paramref name="unsaved"/>: tasks pick up from there (a task only a note knows is taken up),
    /// and numbering goes on after it.</summary>
    private void ResumeFor(long afterSequence, IReadOnlyList<UnsavedEvent>? unsaved)
    {
        var marks = _restoredMarks!;
        _restoredMarks = null;
        var savedThrough = _log.LastSequence;
        var last = savedThrough;
        foreach (var note in unsaved ?? [])
        {
            // Marks the save had are already in; the reader's tell what came after it, in order, with the tasks the save did not know.
            if (note.Mark.Sequence <= last)
            {
                continue;
            }

            if (note.Task is { } task && !_tasks.TryGet(task.Info.TaskId, out _))
            {
                RestoreItem(task, task.Order, fromSave: false);
            }

            marks.Add(note.Mark);
            last = note.Mark.Sequence;
        }

        if (last > savedThrough)
        {
            _log.ContinueAfter(last);
        }

        var held = Math.Clamp(afterSequence, _readThroughAtRestore, _log.LastSequence);
        _tasks.ApplyHeld(marks, held);

        // A reader past everything known (it read early and died with this channel's silo, and its client resumed elsewhere) gets what
        // follows numbered after its own: the audio after the saved positions again, rather than numbers it would skip.
        _log.ContinueAfter(Math.Max(held, afterSequence));
        foreach (var item in _tasks.LineUp.ToArray())
        {
            _ = Restart(item, 0);
        }

        MarkUnsaved();
    }

    /// <summary>Records this silo as the owner of the session's tasks, so a survivor wakes the channel if the silo dies (cluster mode).</summary>
    private async Task EnterLedger()
    {
        if (!Durable || _inLedger)
        {
            return;
        }

        _inLedger = true;
        try
        {
            await GrainFactory.GetGrain<IJobLedgerGrain>(localSilo.Name).Add(SessionId, JobOwners.Channel);
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            _inLedger = false;
            LogSaveFailed(SessionId, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: another activation saved the channel meanwhile ({Reason}); this one, which goes on, writes over it")]
    private partial void LogSaveConflict(string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: saving the channel failed")]
    private partial void LogSaveFailed(string sessionId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: channel restored with {Count} unfinished tasks, numbering on from {Sequence}")]
    private partial void LogRestored(string sessionId, int count, long sequence);
}
