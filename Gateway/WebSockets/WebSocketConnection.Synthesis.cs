using MitTts.Gateway.Apis;
using MitTts.Gateway.Contracts;
using MitTts.Gateway.Security;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.WebSockets;

/// <summary>Whole requests: <c>synthesize</c> validated like the REST body, announced <c>queued</c> at once, submitted to the session's
/// channel (asked again while a silo dies), refusals reported.</summary>
public sealed partial class WebSocketConnection
{
    private async Task Synthesize(SynthesizeMessage message, long received)
    {
        var (request, error) = await _validator.Validate(
            Body(message.Text, message.VoiceId, message.Format, message.Priority, message.SampleRate, message.Bitrate, message.Speed, message.Pitch, message.Ssml, message.Language), _guard.Caller);
        if (error is not null)
        {
            _outbox.Send(new ErrorMessage(error.Code, error.Message, message.RequestId, error.Field));
            return;
        }

        await EnsureSession(_outbox.Closing);
        var task = _announcer.Take();
        var taskId = task.TaskId;
        if (!await _guard.StartTask(taskId))
        {
            TaskAnnouncer.Withdraw(task);
            _announcer.Prepare();
            _outbox.Send(new ErrorMessage(RateLimits.TooManyActiveTasks, RateLimits.TooManyActiveTasksMessage, message.RequestId, RetryAfter: 1));
            return;
        }

        _filter.Submitted(taskId, message.RequestId);
        _outbox.FirstAudio.Started(taskId, received);

        // Queued goes out before the task can start: the synthesizer is fast enough to beat the Submit reply to the socket. It waits
        // only for the task grain to have heard of the task (TaskAnnouncer: done ahead, as a rule): from then on a REST call about the
        // task, through any gateway, waits for the channel to take it rather than find no task.
        _outbox.Send(new StatusMessage(taskId, "queued", 0, null, message.RequestId, null, null), task.Done);
        var info = new ChannelTaskInfo(taskId, message.RequestId, null, Whole: message.Stream == false);
        // A streamed answer is heard as it is made: its audio is kept for /audio only when the client asks (store: true).
        request = request! with { WordTimestamps = message.Timestamps ?? false, Store = message.Store ?? false, Owner = _guard.Caller!.UserId, Uncounted = Uncounted };
        _metrics?.StreamAccepted(received);
        SubmitResult? submitted = null;
        try
        {
            var submitting = Submit(taskId, info, request, message.RequestId);
            _announcer.Prepare();
            submitted = await submitting;
        }
        finally
        {
            if (submitted is null or TaskRefused)
            {
                // Not the channel's: a read waiting for the task goes on (before the client hears why).
                TaskAnnouncer.Withdraw(task);
            }
        }

        ReportRefused(submitted!, message.RequestId, null);
    }

    /// <summary>Submits to the channel, asking again while a silo dies.</summary>
    private async Task<SubmitResult> Submit(string taskId, ChannelTaskInfo info, SynthesisRequest request, string? requestId)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await _channel!.Submit(info, request);
            }
            catch (Exception e) when (Hosting.ClusterHealth.IsClusterFailure(e) && attempt < SubmitAttempts)
            {
                // The channel's silo died with the call: the client was told "queued", so ask again (Submit is idempotent by task
                // id); the channel comes back on a survivor once membership agrees.
                LogSubmitRetry(_sessionId, attempt, e);
                await Task.Delay(TimeSpan.FromSeconds(attempt), _outbox.Closing);
            }
            catch (Exception e) when (Hosting.ClusterHealth.IsClusterFailure(e))
            {
                // Given up: the task the client was told about ends here, under the code a request-level failure has.
                _filter.Forget(taskId);
                _guard.EndTask(taskId);
                _outbox.FirstAudio.Forget(taskId);
                _metrics?.Error("cluster_unavailable");
                _outbox.Send(new StatusMessage(taskId, "error", 0, new ErrorBody("cluster_unavailable", "The synthesis cluster did not answer; retry shortly."), requestId, null, null));
                throw;
            }
        }
    }

    /// <summary>A socket's request in the REST body's shape, so both are validated alike; on a socket priority defaults to high.</summary>
    private static SynthesizeBody Body(
        string? text, string? voiceId, string? format, string? priority, int? sampleRate, int? bitrate, double? speed, double? pitch, bool? ssml = null, string? language = null) => new()
    {
        Ssml = ssml,
        Text = text,
        VoiceId = voiceId,
        Language = language,
        Format = format,
        Priority = priority ?? "high",
        SampleRate = sampleRate,
        Bitrate = bitrate,
        Speed = speed,
        Pitch = pitch,
    };

    /// <summary>A task the scheduler refused (every queue of its level full) ends at once with a <c>busy</c> error status.</summary>
    private void ReportRefused(SubmitResult submitted, string? requestId, string? contextId)
    {
        if (submitted is TaskRefused { Error: { } refusal })
        {
            _filter.Forget(submitted.TaskId);
            _guard.EndTask(submitted.TaskId);
            _outbox.FirstAudio.Forget(submitted.TaskId);
            if (refusal.IsBusy)
            {
                _metrics?.Rejected(refusal.Code);
            }

            _metrics?.Error(refusal.Code);

            // A busy refusal says when to retry; any other (no device answered) is reported under its own code.
            _outbox.Send(new StatusMessage(submitted.TaskId, "error", 0, new ErrorBody(refusal.Code, refusal.Message), requestId, contextId, null)
            {
                RetryAfter = refusal.IsBusy ? Math.Ceiling(refusal.RetryAfterSeconds ?? 1) : null,
            });
        }
    }

    // Attempts at a streamed task's Submit before the task ends with cluster_unavailable (10 s each at most, 1 s and 2 s apart).
    private const int SubmitAttempts = 3;

    [LoggerMessage(Level = LogLevel.Warning, Message = "WebSocket of session {SessionId}: submitting a task failed (attempt {Attempt}); asking again")]
    private partial void LogSubmitRetry(string? sessionId, int attempt, Exception exception);
}
