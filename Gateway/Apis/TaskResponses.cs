using MitTts.Gateway.Contracts;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Apis;

/// <summary>How tasks and their audio appear in the API.</summary>
public static class TaskResponses
{
    public static string Name(SynthesisStatus status) => status.ToString().ToLowerInvariant();

    public static string AudioUrl(string taskId, AudioFormat format) => $"/api/v1/audio/{taskId}.{format.ToString().ToLowerInvariant()}";

    public static TaskResponse From(TaskSnapshot task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var request = task.Request;
        return new TaskResponse(
            task.TaskId,
            Name(task.Status),
            task.Progress,
            request.Priority.ToString().ToLowerInvariant(),
            request.VoiceId,
            request.Format.ToString().ToLowerInvariant(),
            request.SessionId,
            task.CreatedAt,
            task.StartedAt,
            task.CompletedAt,
            task.QueuePosition,
            Math.Round(task.EstimatedSeconds, 3),
            task.AudioDurationSeconds is { } duration ? Math.Round(duration, 3) : null,
            task.Audio is ResultAudio.Kept or ResultAudio.None && task.Status == SynthesisStatus.Completed ? AudioUrl(task.TaskId, request.Format) : null,
            task.ExpiresAt,
            task.Error is { } error ? new TaskErrorResponse(error.Code, error.Message) : null,
            task.AudioSampleRate ?? request.SampleRate,
            task.CacheHit,
            task.DeviceKey,
            AudioState(task));
    }

    /// <summary><c>kept</c>, <c>not_kept</c> or <c>expired</c> for a completed task (null before it completes).</summary>
    private static string? AudioState(TaskSnapshot task) => task.Status != SynthesisStatus.Completed ? null : task.Audio switch
    {
        ResultAudio.NotKept => "not_kept",
        ResultAudio.Expired => "expired",
        _ => "kept",
    };

    /// <summary>The error for audio that cannot be served: the task is not completed (409), or its audio is gone or was never kept (410).</summary>
    public static ApiError NotServable(TaskSnapshot task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return task.Status switch
        {
            SynthesisStatus.Completed when task.Audio == ResultAudio.NotKept => ApiError.Gone("audio_not_kept",
                $"Task {task.TaskId} completed, but its audio was not kept: it went to the caller that waited or streamed it. Send \"store\": true to keep it."),
            SynthesisStatus.Completed => ApiError.Gone("audio_expired",
                $"The audio of task {task.TaskId} is no longer kept (its time ran out, or it made room for newer results)."),
            SynthesisStatus.Error => ApiError.Conflict("task_failed", $"Task {task.TaskId} failed: {task.Error?.Message}"),
            SynthesisStatus.Cancelled => ApiError.Conflict("task_cancelled", $"Task {task.TaskId} was cancelled."),
            _ => ApiError.Conflict("audio_not_ready", $"Task {task.TaskId} is {Name(task.Status)}; its audio is not ready yet."),
        };
    }
}
