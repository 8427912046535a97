using Microsoft.Extensions.Logging;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;

namespace MitTts.Grains.Channels;

/// <summary>Durable (cluster) mode: the channel saves before it lets readers have events, and a channel restored after its silo died
/// learns from its first reader where that reader stands.</summary>
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
        while (_unsaved)
        {
            _unsaved = false;
            var through = _log.LastSequence;
            saved.State = Snapshot(through);
            try
            {
                await saved.WriteStateAsync();
            }
            catch (Exception e)
            {
                // Storage is down (Redis): readers wait for the next save, which the next change (or this retry) makes.
                LogSaveFailed(SessionId, e);
                await Task.Delay(TimeSpan.FromMilliseconds(200));
                _unsaved = true;
                continue;
            }

            _log.Release(through);
            Signal();
        }
    }

    private ChannelRecord Snapshot(long through)
    {
        var record = new ChannelRecord { LastSequence = through, Order = _tasks.Order, ReadThrough = _log.ReadThrough };
        foreach (var item in _tasks.Known)
        {
            record.Items.Add(new ChannelItemRecord(item.Info, item.Request, item.Order, item.ReadStarted, item.Read));
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
            // A task whose whole file is wanted starts over to make it again: a stream:false task (which sends nothing before its
            // file) while its reader has none of it, and a kept streamed task, which sends only what comes after what its reader has
            // (not Ogg, whose pages a re-run cannot match). Any other task goes on from what its reader has, with no whole file.
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
            }, record.Order);
        }

        foreach (var entry in record.Contexts)
        {
            _contexts[entry.Id] = TextContext.Restore(entry);
        }

        _restoredMarks = [.. record.Marks];
        _readThroughAtRestore = record.ReadThrough;
        LogRestored(SessionId, _tasks.LineUp.Count, record.LastSequence);
    }

    private long _readThroughAtRestore;

    /// <summary>The first reader of a restored channel holds every event up to <paramref name="afterSequence"/>: tasks pick up from
    /// there, and numbering goes on after it.</summary>
    private void ResumeFor(long afterSequence)
    {
        var marks = _restoredMarks!;
        _restoredMarks = null;
        var held = Math.Clamp(afterSequence, _readThroughAtRestore, _log.LastSequence);
        _tasks.ApplyHeld(marks, held);
        _log.ContinueAfter(held);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: saving the channel failed")]
    private partial void LogSaveFailed(string sessionId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: channel restored with {Count} unfinished tasks, numbering on from {Sequence}")]
    private partial void LogRestored(string sessionId, int count, long sequence);
}
