using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.WebSockets;

/// <summary>A task an interrupt stopped while the client still waited for its end: what its <c>cancelled</c> status says, with
/// <see cref="Progress"/> the share of the task's audio the client was sent before the interrupt.</summary>
public sealed record StoppedTask(string TaskId, string? RequestId, string? ContextId, double Progress);

/// <summary>What an interrupt stopped: every task id it names (the acknowledgement's <c>task_ids</c>), and of those the tasks the
/// client had been told of and had not heard the end of, each to be ended with a <c>cancelled</c> status; <see cref="Unheard"/> is the
/// task the interrupt named when this socket has no such task open (only the channel can say whether it stopped one).</summary>
public sealed record StoppedTasks(IReadOnlyList<string> TaskIds, IReadOnlyList<StoppedTask> Open, string? Unheard = null);

/// <summary>Which channel events may still reach the client: once an interrupt stops a task, nothing of it is sent.</summary>
/// <remarks>Asked by the send loop at the moment of sending, so whatever was already queued is caught too. Thread-safe: interrupts
/// come from the receive loop, <see cref="Admit"/> from the send loop.</remarks>
public sealed class InterruptFilter
{
    private const int MaxRememberedStops = 4096;

    private readonly Lock _gate = new();

    // Tasks this socket knows are unfinished (submitted here or seen starting), with what their end status echoes.
    private readonly Dictionary<string, OpenTask> _openTasks = new(StringComparer.Ordinal);
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
    public void Submitted(string taskId, string? requestId = null)
    {
        lock (_gate)
        {
            _openTasks[taskId] = new OpenTask(requestId, null, 0);
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
    public StoppedTasks Interrupt(string? taskId, string? contextId)
    {
        var ids = new List<string>();
        var open = new List<StoppedTask>();
        string? unheard = null;
        lock (_gate)
        {
            if (taskId is not null)
            {
                if (_openTasks.TryGetValue(taskId, out var task))
                {
                    ids.Add(taskId);
                    open.Add(task.Stopped(taskId));
                }
                else
                {
                    // Held back all the same: it may be the session's, submitted on an earlier socket.
                    unheard = taskId;
                    Stop(taskId);
                }
            }
            else
            {
                foreach (var (id, task) in _openTasks)
                {
                    if (contextId is null || string.Equals(task.ContextId, contextId, StringComparison.Ordinal))
                    {
                        ids.Add(id);
                        open.Add(task.Stopped(id));
                    }
                }
            }

            foreach (var stop in ids)
            {
                Stop(stop);
            }

            _fenceUnknownTasks = taskId is null;
        }

        return new StoppedTasks(ids, open, unheard);
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
            if (channelEvent is TaskEndedEvent { Announced: true })
            {
                // The interrupted socket said so itself; a resumed socket must not say it again.
                _openTasks.Remove(taskId);
                return false;
            }

            if (_stopped.Contains(taskId) || (_fenceUnknownTasks && !_openTasks.ContainsKey(taskId)))
            {
                return false;
            }

            if (channelEvent is AudioEvent audio)
            {
                ref var open = ref CollectionsMarshal.GetValueRefOrNullRef(_openTasks, taskId);
                if (!Unsafe.IsNullRef(ref open))
                {
                    open = open with { Progress = audio.Progress };
                }
            }
            else if (channelEvent is TaskStartedEvent)
            {
                _openTasks[taskId] = new OpenTask(channelEvent.RequestId, channelEvent.ContextId, 0);
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

    private readonly record struct OpenTask(string? RequestId, string? ContextId, double Progress)
    {
        // Toward zero: rounded up, the share of audio sent could claim more than the synthesis (its task's record) got to.
        public StoppedTask Stopped(string taskId) => new(taskId, RequestId, ContextId, Math.Round(Progress, 3, MidpointRounding.ToZero));
    }
}
