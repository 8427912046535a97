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
        var stopping = _channel.Interrupt(message.TaskId is { } one ? [one] : null, message.ContextId, announced: true);
        var taskIds = stopped.TaskIds;
        if (stopped.Unheard is { } unheard)
        {
            // A task this socket has no record of (finished, another session's, or made up) is named in the acknowledgement only if
            // the channel says it stopped it: `task_ids` says what was stopped. Not the barge-in path, so the wait costs nobody.
            await ((Task)stopping).WaitAsync(InterruptConfirmWait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            taskIds = stopping.IsCompletedSuccessfully && stopping.Result.Contains(unheard) ? [unheard] : [];
        }
        else if (_confirmInterrupts)
        {
            // In a cluster the channel lives in another process, and a client's REST read through another gateway could reach it
            // before this call does: the acknowledgement waits for the channel's answer (one round trip; audio of the stopped tasks is
            // held back meanwhile all the same), but not past InterruptConfirmWait, nor for a failure, which surfaces below.
            await ((Task)stopping).WaitAsync(InterruptConfirmWait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        // Every task the client was told of ends with one status: the stopped ones with `cancelled`, right behind the acknowledgement
        // (sent with it: a task that plays on must not get its audio in between).
        // A task of the session this socket had not heard of (queued on an earlier socket) ends the same way.
        var endings = new StatusMessage[stopped.Open.Count + (taskIds.Count > stopped.TaskIds.Count ? 1 : 0)];
        for (var i = 0; i < stopped.Open.Count; i++)
        {
            var task = stopped.Open[i];
            endings[i] = new StatusMessage(task.TaskId, "cancelled", task.Progress, null, task.RequestId, task.ContextId, null);
        }

        if (endings.Length > stopped.Open.Count)
        {
            endings[^1] = new StatusMessage(taskIds[0], "cancelled", 0, null, null, null, null);
        }

        _outbox.SendAcknowledgement(new InterruptedMessage(taskIds, message.Reason, message.ContextId, _outbox.LastSentSequence), received, endings);
        foreach (var taskId in taskIds)
        {
            _outbox.FirstAudio.Forget(taskId);
        }

        try
        {
            var stoppedThere = await stopping;
            _filter.Stop(stoppedThere);

            // Tasks of the session this socket had not heard of (queued on an earlier socket) end here too, as soon as the channel
            // names them: their ends in the channel are never sent (announced), and the client was told of them.
            foreach (var taskId in stoppedThere)
            {
                if (!taskIds.Contains(taskId))
                {
                    _outbox.Send(new StatusMessage(taskId, "cancelled", 0, null, null, null, null));
                }
            }
        }
        finally
        {
            _filter.LiftFence();
        }
    }
}
