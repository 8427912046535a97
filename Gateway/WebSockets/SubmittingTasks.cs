using System.Collections.Concurrent;

namespace MitTts.Gateway.WebSockets;

/// <summary>Streamed tasks a socket on this gateway has announced (<c>queued</c> goes out before the channel has the task, so first audio
/// never waits for the submit's reply) whose submit has not returned yet: a REST call about such a task here waits for the submit
/// instead of answering 404 for a task the client was just told about.</summary>
/// <remarks>Per gateway process: a REST call that a load balancer sends to another gateway before the channel has accepted the task
/// (a millisecond or a few, one dispatch and two grain calls) can still find no task.</remarks>
public sealed class SubmittingTasks
{
    // A submit is retried for a few seconds while a silo dies (WebSocketConnection); a REST call waits no longer than this for it.
    private static readonly TimeSpan s_longest = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, TaskCompletionSource> _pending = new(StringComparer.Ordinal);

    /// <summary>The socket is about to announce <paramref name="taskId"/>.</summary>
    public void Begin(string taskId) => _pending[taskId] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The submit of <paramref name="taskId"/> returned (accepted, refused or failed).</summary>
    public void End(string taskId)
    {
        if (_pending.TryRemove(taskId, out var submitted))
        {
            submitted.TrySetResult();
        }
    }

    /// <summary>Completes once <paramref name="taskId"/> is not being submitted here (at once for almost every call).</summary>
    public async ValueTask Settled(string taskId, CancellationToken cancellationToken = default)
    {
        if (!_pending.TryGetValue(taskId, out var submitted))
        {
            return;
        }

        try
        {
            await submitted.Task.WaitAsync(s_longest, cancellationToken);
        }
        catch (TimeoutException)
        {
            // Still not back: answer from what the cluster knows.
        }
    }
}
