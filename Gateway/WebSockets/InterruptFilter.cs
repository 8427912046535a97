using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.WebSockets;

/// <summary>Which channel events may still reach the client: once an interrupt stops a task, nothing of it is sent.</summary>
/// <remarks>Asked by the send loop at the moment of sending, so whatever was already queued is caught too. Thread-safe: interrupts
/// come from the receive loop, <see cref="Admit"/> from the send loop.</remarks>
public sealed class InterruptFilter
{
    private const int MaxRememberedStops = 4096;

    private readonly Lock _gate = new();

    // Tasks this socket knows are unfinished (submitted here or seen starting), with their context.
    private readonly Dictionary<string, string?> _openTasks = new(StringComparer.Ordinal);
    private readonly HashSet<string> _stopped = new(StringComparer.Ordinal);
    private readonly Queue<string> _stopOrder = new();
    private bool _fenceUnknownTasks;

    /// <summary>Whether this socket waits for the end of any task (what makes a silent channel worth checking on).</summary>
    public bool HasOpenTasks
    {
        get
        {
            lock (_gate)
            {
                return _openTasks.Count > 0;
            }
        }
    }

    /// <summary>A task submitted on this socket, not started yet.</summary>
    public void Submitted(string taskId)
    {
        lock (_gate)
        {
            _openTasks[taskId] = null;
        }
    }

    /// <summary>A task that ended before it started (refused by the scheduler).</summary>
    public void Forget(string taskId)
    {
        lock (_gate)
        {
            _openTasks.Remove(taskId);
        }
    }

    /// <summary>Stops one task, the open tasks of one context, or (neither given) every open task, and returns them.</summary>
    /// <remarks>Unless one task was named, tasks this socket has not heard of are held back too until <see cref="LiftFence"/>:
    /// until the channel has answered, any of them may be one the interrupt is about.</remarks>
    public IReadOnlyList<string> Interrupt(string? taskId, string? contextId)
    {
        var stopped = new List<string>();
        lock (_gate)
        {
            if (taskId is not null)
            {
                stopped.Add(taskId);
            }
            else
            {
                foreach (var (open, openContextId) in _openTasks)
                {
                    if (contextId is null || string.Equals(openContextId, contextId, StringComparison.Ordinal))
                    {
                        stopped.Add(open);
                    }
                }
            }

            foreach (var stop in stopped)
            {
                Stop(stop);
            }

            _fenceUnknownTasks = taskId is null;
        }

        return stopped;
    }

    /// <summary>Stops tasks the channel reports stopped (it also knows tasks this socket never saw).</summary>
    public void Stop(IEnumerable<string> taskIds)
    {
        lock (_gate)
        {
            foreach (var taskId in taskIds)
            {
                Stop(taskId);
            }
        }
    }

    /// <summary>The channel has answered the interrupt: tasks not heard of before are new ones again.</summary>
    public void LiftFence()
    {
        lock (_gate)
        {
            _fenceUnknownTasks = false;
        }
    }

    /// <summary>Whether <paramref name="channelEvent"/> goes to the client; follows tasks starting and ending as it says yes.</summary>
    public bool Admit(ChannelEvent channelEvent)
    {
        var taskId = channelEvent.TaskId;
        if (taskId is null)
        {
            return true;
        }

        lock (_gate)
        {
            if (_stopped.Contains(taskId) || (_fenceUnknownTasks && !_openTasks.ContainsKey(taskId)))
            {
                return false;
            }

            if (channelEvent is TaskStartedEvent)
            {
                _openTasks.TryAdd(taskId, channelEvent.ContextId);
            }
            else if (channelEvent is TaskEndedEvent)
            {
                _openTasks.Remove(taskId);
            }
        }

        return true;
    }

    private void Stop(string taskId)
    {
        _openTasks.Remove(taskId);
        if (_stopped.Add(taskId))
        {
            _stopOrder.Enqueue(taskId);
            if (_stopOrder.Count > MaxRememberedStops)
            {
                _stopped.Remove(_stopOrder.Dequeue());
            }
        }
    }
}
