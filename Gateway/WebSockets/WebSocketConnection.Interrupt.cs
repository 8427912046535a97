using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.WebSockets;

/// <summary>Barge-in: the acknowledgement at once, the stopped tasks' <c>cancelled</c> right behind it, the synthesis behind them stopped
/// by the session's channel.</summary>
public sealed partial class WebSocketConnection
{
    /// <summary>The longest an interrupt's acknowledgement waits for the channel in another process to confirm it.</summary>
    internal static readonly TimeSpan InterruptConfirmWait = TimeSpan.FromMilliseconds(250);

    private async Task Interrupt(InterruptMessage message, long received)
    {
        if (_channel is null)
        {
            _outbox.SendAcknowledgement(new InterruptedMessage([], message.Reason, message.ContextId, 0), received);
            return;
        }

        var stopped = _filter.Interrupt(message.TaskId, message.ContextId);

        // The synthesis behind the audio stops too (the channel also catches tasks this socket never saw). Sent before the
        // acknowledgement: a client that reads a task over REST once it has the acknowledgement finds the channel told.
        // Read once the stopped tasks' audio is held back: the client has nothing of theirs past it (a frame being sent may end up
        // counted after, and is then skipped on a resume though the client has it: it is audio the barge-in stopped either way).
        var heardThrough = _outbox.LastSentSequence;
        var stopping = _channel.Interrupt(message.TaskId is { } one ? [one] : null, message.ContextId, announced: true, heardThrough);
        if (stopped.Unheard is not null || _clustered)
        {
            // A task this socket has no record of (finished, another session's, or made up) is named in the acknowledgement only if
            // the channel says it stopped it: `task_ids` says what was stopped (not the barge-in path, so the wait costs nobody). In a
            // cluster the channel lives in another process, and a client's REST read through another gateway could reach it before
            // this call does. Either way the acknowledgement waits for the channel's answer (one round trip; audio of the stopped tasks
            // is held back meanwhile all the same), but not past InterruptConfirmWait, nor for a failure, which surfaces below.
            await ((Task)stopping).WaitAsync(InterruptConfirmWait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        var confirmed = stopped.Unheard is { } unheard && stopping.IsCompletedSuccessfully && Names(stopping.Result, unheard);
        IReadOnlyList<string> taskIds = stopped.Unheard is null ? stopped.TaskIds : confirmed ? [stopped.Unheard] : [];

        // Every task the client was told of ends with one status: the stopped ones with `cancelled`, right behind the acknowledgement
        // (sent with it: a task that plays on must not get its audio in between); so does a task of the session this socket had not
        // heard of (queued on an earlier socket).
        var endings = new List<StatusMessage>(stopped.Open.Count + 1);
        foreach (var task in stopped.Open)
        {
            endings.Add(Cancelled(task.TaskId, task.Progress, task.RequestId, task.ContextId));
        }

        if (confirmed)
        {
            endings.Add(Cancelled(stopped.Unheard!));
        }

        _outbox.SendAcknowledgement(new InterruptedMessage(taskIds, message.Reason, message.ContextId, _outbox.LastSentSequence), received, endings);
        foreach (var taskId in taskIds)
        {
            _outbox.FirstAudio.Forget(taskId);
        }

        try
        {
            var stoppedThere = await stopping;
            var ids = new string[stoppedThere.Count];
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i] = stoppedThere[i].TaskId;
            }

            _filter.Stop(ids);

            // Tasks of the session this socket had not heard of end here too, as soon as the channel names them (their ends in the
            // channel are never sent: announced): those queued on an earlier socket, and a context's sentences not yet playing. Each
            // with its request and context id, so a client that thinks in contexts knows what was cut.
            foreach (var task in stoppedThere)
            {
                if (!taskIds.Contains(task.TaskId))
                {
                    _outbox.Send(Cancelled(task.TaskId, 0, task.RequestId, task.ContextId));
                }
            }
        }
        finally
        {
            _filter.LiftFence();
        }
    }

    private static bool Names(IReadOnlyList<ChannelTaskInfo> tasks, string taskId)
    {
        foreach (var task in tasks)
        {
            if (task.TaskId == taskId)
            {
                return true;
            }
        }

        return false;
    }

    private static StatusMessage Cancelled(string taskId, double progress = 0, string? requestId = null, string? contextId = null) =>
        new(taskId, "cancelled", progress, null, requestId, contextId, null);
}
