using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Channels;

/// <summary>A channel's tasks: the line-up waiting for the socket (or holding it), and every task a reader may still need to hear the
/// end of. Which task sounds next is decided here: one that already started (a restored channel), else the highest priority, then
/// the order asked.</summary>
internal sealed class ChannelTasks
{
    private readonly List<ChannelItem> _lineUp = [];
    private readonly Dictionary<string, ChannelItem> _known = new(StringComparer.Ordinal);

    /// <summary>The task whose audio goes to the socket now.</summary>
    public ChannelItem? Current { get; private set; }

    /// <summary>The order number last handed out.</summary>
    public long Order { get; private set; }

    /// <summary>Tasks not yet ended here, in the order they were asked.</summary>
    public IReadOnlyList<ChannelItem> LineUp => _lineUp;

    /// <summary>The line-up and the ended tasks whose end a reader has not read yet (durable mode keeps those).</summary>
    public IEnumerable<ChannelItem> Known => _known.Values;

    /// <summary>A new task, last in its priority; <paramref name="cancellation"/> stops its synthesis.</summary>
    public ChannelItem Add(ChannelTaskInfo info, SynthesisRequest request, CancellationTokenSource? cancellation = null)
    {
        var item = new ChannelItem(info, request, ++Order, cancellation);
        Keep(item);
        return item;
    }

    /// <summary>A task of a restored channel, with its order as saved.</summary>
    public void Restore(ChannelItem item, long order)
    {
        ArgumentNullException.ThrowIfNull(item);
        Order = Math.Max(Order, order);
        Keep(item);
    }

    public bool TryGet(string taskId, out ChannelItem item) => _known.TryGetValue(taskId, out item!);

    /// <summary>The current task, or the next one to sound when the socket is free (null when none waits).</summary>
    public ChannelItem? TakeTurn()
    {
        if (Current is not null)
        {
            return Current;
        }

        ChannelItem? best = null;
        foreach (var item in _lineUp)
        {
            if (item.Started)
            {
                best = item;
                break;
            }

            if (best is null || item.Priority > best.Priority || (item.Priority == best.Priority && item.Order < best.Order))
            {
                best = item;
            }
        }

        return Current = best;
    }

    /// <summary>The task ended and its end is in the log: it leaves the line-up (and the socket), but stays known until its end is read.</summary>
    public void Leave(ChannelItem item)
    {
        _lineUp.Remove(item);
        if (ReferenceEquals(Current, item))
        {
            Current = null;
        }
    }

    /// <summary>The task is gone for good.</summary>
    public void Forget(ChannelItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        Leave(item);
        _known.Remove(item.TaskId);
    }

    /// <summary>A reader read the end of <paramref name="taskId"/>.</summary>
    public void Forget(string taskId)
    {
        if (_known.TryGetValue(taskId, out var item))
        {
            Forget(item);
        }
    }

    /// <summary>What the first reader of a restored channel holds (every event up to <paramref name="held"/>): tasks whose end it holds
    /// are gone, the others pick up where its last event of them leaves them.</summary>
    public void ApplyHeld(IEnumerable<EventMark> marks, long held)
    {
        ArgumentNullException.ThrowIfNull(marks);
        foreach (var mark in marks)
        {
            if (mark.Sequence > held || mark.TaskId is not { } taskId || !_known.TryGetValue(taskId, out var item))
            {
                continue;
            }

            if (mark.Ends)
            {
                Forget(item);
                continue;
            }

            item.Started = item.ReadStarted = true;
            if (!mark.Position.IsNone)
            {
                item.Read = mark.Position;
                if (item.RebuildThrough is not null)
                {
                    // Rendered again from its start for its whole file: only what comes after this is sent.
                    item.RebuildThrough = mark.Position;
                }
                else
                {
                    // The reader has audio of it (for a stream:false task, its whole file): nothing of it is sent whole again.
                    item.Received = mark.Position;
                    item.Whole = null;
                }
            }
        }
    }

    public void Clear()
    {
        _lineUp.Clear();
        _known.Clear();
        Current = null;
    }

    private void Keep(ChannelItem item)
    {
        _lineUp.Add(item);
        _known[item.TaskId] = item;
    }
}
