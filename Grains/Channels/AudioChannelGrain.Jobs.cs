using Microsoft.Extensions.Logging;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;

namespace MitTts.Grains.Channels;

/// <summary>The channel's side of its tasks' jobs: starting each on a synthesizer, pulling its events, starting it again elsewhere
/// when that synthesizer's silo dies, and telling the task grain where the task stands.</summary>
public sealed partial class AudioChannelGrain
{
    private async Task<SubmitResult> SubmitItem(ChannelTaskInfo info, SynthesisRequest request, TextContext? context, bool announced = true)
    {
        request = request with { SessionId = SessionId, Streamed = true };
        if (_tasks.TryGet(info.TaskId, out var known))
        {
            // Asked again (the first answer was lost with a silo): the task is already here.
            return new TaskAccepted(info.TaskId, new TaskSnapshot(info.TaskId, known.EndStatus ?? SynthesisStatus.Queued, known.Request, known.CreatedAt ?? time.GetUtcNow(),
                null, null, known.Progress, known.Error, null, null, 0, null, DeviceKey: known.DeviceKey));
        }

        var taken = System.Diagnostics.Stopwatch.GetTimestamp();
        // The task exists from here: its synthesis may start before the dispatch returns, and its start must not come before it.
        var createdAt = time.GetUtcNow();
        var discards = context?.Discards;
        var cancellation = new CancellationTokenSource();
        DispatchedJob started;
        try
        {
            started = await dispatcher.Start(new SynthesisJob(info.TaskId, request, createdAt), localSilo.Name, avoidDevice: null, cancellation.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogDispatchFailed(SessionId, info.TaskId, e);
            return new TaskRefused(info.TaskId, new TaskError("dispatch_failed", "No synthesizer accepted the task: " + e.Message));
        }

        if (started.Refusal is { } refusal)
        {
            // Refused work never became a task, so it never joins the channel.
            return new TaskRefused(info.TaskId, refusal);
        }

        var queued = started.Queued!;
        if (!request.Uncounted)
        {
            stages.Dispatched(taken);
        }

        var item = _tasks.Add(info, request, cancellation);
        item.QueuedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        item.DeviceKey = queued.DeviceKey;
        item.StartsAtOnce = queued.Position == 0;
        item.CreatedAt = createdAt;
        if (context is not null)
        {
            context.OpenTasks++;
        }

        var task = GrainFactory.GetGrain<ITaskGrain>(info.TaskId);
        item.Recording = task.Track(request, queued.DeviceKey, createdAt);
        if (!announced)
        {
            item.StartAfter = item.Recording;
            _ = StartWhenTracked(item);
        }

        _ = Pull(item, started.Events!, 0);
        if (context is not null && context.Discards != discards)
        {
            // Its context was interrupted while the job was being dispatched, before the task was here for the interrupt to see.
            Stop(item, SynthesisStatus.Cancelled, null);
        }

        // An idle channel gives the socket to the new task at once; otherwise it waits its turn.
        Pump();
        RaiseCurrentTo(request.Priority);
        MarkUnsaved();
        await EnterLedger();
        try
        {
            await item.Recording;
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            // The record is for status reads; the audio goes on without it.
            LogRecordFailed(SessionId, info.TaskId, e);
        }

        // Its `processing` may wait for the record (Pump).
        Pump();

        return new TaskAccepted(info.TaskId, new TaskSnapshot(info.TaskId, SynthesisStatus.Queued, request, createdAt, null, null, 0, null, null,
            queued.Position, queued.EstimatedSeconds, null, DeviceKey: queued.DeviceKey));
    }

    private static string NewTaskId() => "task_" + Guid.NewGuid().ToString("N");

    /// <summary>Priority inheritance: a task waits behind the one the socket hears, whose audio all goes first, so that one's job is served
    /// at the waiting task's level from now. Else the session's own urgent task, synthesized first, would stall the task ahead of it (no
    /// audio until aging lifted it) and wait behind it all the same.</summary>
    private void RaiseCurrentTo(Priority priority)
    {
        if (_tasks.Current is { EndStatus: null, DeviceKey: { } device } current && priority > current.SpeaksAt)
        {
            current.SpeaksAt = priority;
            _ = RaiseQuietly(GrainFactory.GetGrain<ISynthesizerGrain>(device), current.TaskId, priority);
        }
    }

    private static async Task RaiseQuietly(ISynthesizerGrain synthesizer, string taskId, Priority priority)
    {
        try
        {
            await synthesizer.Raise(taskId, priority);
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            // Its silo is going: the job starts again elsewhere, at its own level.
        }
    }

    /// <summary>Reads a task's job to its end; when its synthesizer's silo dies, starts it again elsewhere from the first byte missing.</summary>
    private async Task Pull(ChannelItem item, IAsyncEnumerator<SynthesisEvent> events, int restarts)
    {
        var cancellation = item.Cancellation.Token;
        try
        {
            await using (events.ConfigureAwait(true))
            {
                while (await events.MoveNextAsync())
                {
                    if (Receive(item, events.Current))
                    {
                        return;
                    }
                }
            }

            throw new InvalidOperationException($"Synthesizer {item.DeviceKey} ended task {item.TaskId} without a result.");
        }
        catch (Exception) when (cancellation.IsCancellationRequested || item.EndStatus is not null)
        {
            // Interrupted or abandoned: the task already ended here.
        }
        catch (SiloStoppingException) when (!Durable)
        {
            // One process, stopping: no other device will take the job.
            Stop(item, SynthesisStatus.Cancelled, TaskError.ServerStopping);
            Pump();
        }
        catch (Exception e)
        {
            LogDeviceLost(SessionId, item.TaskId, item.DeviceKey ?? "?", e.Message);
            await Restart(item, restarts + 1);
        }
    }

    private async Task Restart(ChannelItem item, int restarts)
    {
        if (restarts > MaxRestarts)
        {
            Stop(item, SynthesisStatus.Error, new TaskError("synthesis_failed", "The task's synthesizer was lost too many times."));
            Pump();
            return;
        }

        try
        {
            // Ogg starts the interrupted sentence over and is spliced by granule as it comes (ChannelItem.Take); the rest cut at the byte.
            var ogg = item.Request.Format == AudioFormat.Ogg;
            item.OggReplacing = ogg;
            var job = new SynthesisJob(item.TaskId, item.Request, time.GetUtcNow(), item.Received.Sentence, ogg ? 0 : item.Received.Bytes,
                Rendered: item.RebuildThrough is not null);
            var started = await dispatcher.Restart(job, localSilo.Name, item.DeviceKey, item.Cancellation.Token);
            if (started.Refusal is { } refusal)
            {
                Stop(item, SynthesisStatus.Error, refusal with { Message = "The task's device died and every other queue is full." });
                Pump();
                return;
            }

            item.DeviceKey = started.Queued!.DeviceKey;
            await Pull(item, started.Events!, restarts);
        }
        catch (Exception) when (item.Cancellation.IsCancellationRequested || item.EndStatus is not null)
        {
        }
        catch (Exception e)
        {
            LogDispatchFailed(SessionId, item.TaskId, e);
            Stop(item, SynthesisStatus.Error, new TaskError("dispatch_failed", "The task's device died and no other synthesizer accepted it: " + e.Message));
            Pump();
        }
    }

    /// <summary>Takes one event of a task's job; true when it was the job's last.</summary>
    private bool Receive(ChannelItem item, SynthesisEvent synthesisEvent)
    {
        if (item.EndStatus is not null)
        {
            return true;
        }

        switch (synthesisEvent)
        {
            case JobStarted started:
                item.DeviceKey = started.DeviceKey;
                item.StartedAt ??= time.GetUtcNow();
                Record(item, new TaskProgress(SynthesisStatus.Processing, DeviceKey: started.DeviceKey));
                if (ReferenceEquals(_tasks.Current, item))
                {
                    // Its `processing` may go out now.
                    Pump();
                }

                return false;
            case SentenceAudio piece:
                if (item.QueuedAt != 0 && piece.Audio.Length > 0)
                {
                    // An uncounted task (the gateway's warm-up) is not timed, here or at its first read.
                    var counted = !item.Request.Uncounted;
                    if (counted)
                    {
                        stages.FirstPiece(item.QueuedAt);
                    }

                    item.QueuedAt = 0;
                    item.FirstPieceAt = counted ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
                }

                var joining = item.Whole is not null;
                var before = item.Received;
                item.Take(piece);
                if (joining && item.Whole is null)
                {
                    LogWholeLost(SessionId, item.TaskId, piece.Sentence, piece.Offset, before.Sentence, before.Bytes);
                }

                Pump();
                return false;
            case JobCompleted completed:
                var result = item.Complete(completed);
                var report = new TaskProgress(SynthesisStatus.Completed, Audio: item.Request.Store ? result : null, DurationSeconds: item.DurationMs / 1000.0,
                    SampleRate: item.SampleRate, CacheHit: completed.CacheHit);
                if (item.Started)
                {
                    Record(item, report);
                }
                else
                {
                    item.DeferredCompletion = report;
                }

                Pump();
                return true;
            case JobFailed failed:
                Stop(item, SynthesisStatus.Error, failed.Error);
                Pump();
                return true;
            default:
                return false;
        }
    }

    /// <summary>Tells the task grain where the task stands, in order, behind the audio path; with the request and times, so the report
    /// stands on its own (the grain keeps the record in memory only).</summary>
    private void Record(ChannelItem item, TaskProgress progress)
    {
        progress = progress with { Request = item.Request, CreatedAt = item.CreatedAt, StartedAt = item.StartedAt, DeviceKey = progress.DeviceKey ?? item.DeviceKey };
        if (progress.Status != SynthesisStatus.Completed || progress.Audio is null)
        {
            // A report may still be on its way when a client that heard it reads the task (a completed task's end waits for its record
            // only up to RecordWait), so the task grain can ask for it (GetUnrecordedProgress). A completion that carries the stored
            // audio stays off that call: the task reads as processing until its record, with the file, lands.
            _unrecorded[item.TaskId] = progress;
        }

        item.Recording = RecordAfter(item.Recording, item.TaskId, progress);
    }

    Task<TaskProgress?> IAudioChannelGrain.GetUnrecordedProgress(string taskId)
    {
        var synthesizing = _tasks.TryGet(taskId, out var item) && item.EndStatus is null;
        if (_unrecorded.TryGetValue(taskId, out var progress))
        {
            return Task.FromResult<TaskProgress?>(synthesizing && progress.Status == SynthesisStatus.Processing ? progress with { Progress = item.Progress } : progress);
        }

        // Synthesizing: where it stands now (its record already says processing, or hears it here first).
        return Task.FromResult(synthesizing && item.Progress > 0
            ? new TaskProgress(SynthesisStatus.Processing, Request: item.Request, CreatedAt: item.CreatedAt, StartedAt: item.StartedAt, DeviceKey: item.DeviceKey,
                Progress: item.Progress)
            : null);
    }

    /// <summary>The longest a completed task's end waits for its record (<see cref="Pump"/>).</summary>
    internal static readonly TimeSpan RecordWait = TimeSpan.FromSeconds(2);

    /// <summary>Lets a held text task start once its Track is done (up to <see cref="RecordWait"/>: a record stuck on a dying silo does
    /// not hold the session).</summary>
    private async Task StartWhenTracked(ChannelItem item)
    {
        await WaitForRecord(item.StartAfter!);
        item.StartAfter = null;
        Pump();
    }

    /// <summary>Waits for <paramref name="record"/> (<see cref="WaitForRecord"/>), then pumps; the returned wait is complete by then.</summary>
    private Task WaitThenPump(Task record)
    {
        var wait = WaitForRecord(record);
        _ = PumpAfter(wait);
        return wait;
    }

    private async Task PumpAfter(Task wait)
    {
        await wait;
        Pump();
    }

    /// <summary>Waits for a call to the task grain, up to <see cref="RecordWait"/>: a record stuck on a dying silo does not hold the
    /// session.</summary>
    private async Task WaitForRecord(Task record)
    {
        try
        {
            await record.WaitAsync(RecordWait, time);
        }
        catch (Exception)
        {
            // Not there in time, or failed (logged where it failed): the channel goes on without it either way.
        }
    }

    private async Task RecordAfter(Task previous, string taskId, TaskProgress progress)
    {
        try
        {
            await previous;
        }
        catch (Exception)
        {
            // Logged where it failed.
        }

        // The report is the record's only copy (a streamed task's record is never written), so a report that met the task grain's
        // silo dying is sent again: once the cluster has declared that silo dead (seconds), it reaches a fresh activation.
        try
        {
            await TaskCallRetry.WhileSiloDies(() => GrainFactory.GetGrain<ITaskGrain>(taskId).Record(progress), time);
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            LogRecordFailed(SessionId, taskId, progress.Status, e);
        }
        finally
        {
            if (_unrecorded.TryGetValue(taskId, out var latest) && ReferenceEquals(latest, progress))
            {
                _unrecorded.Remove(taskId);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: task {TaskId} lost its synthesizer {DeviceKey} ({Reason}); starting it again elsewhere")]
    private partial void LogDeviceLost(string sessionId, string taskId, string deviceKey, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: task {TaskId} can no longer keep its whole file: a piece of sentence {Sentence} starts at byte {Offset}, past the {Bytes} bytes the channel has of sentence {HaveSentence}")]
    private partial void LogWholeLost(string sessionId, string taskId, int sentence, long offset, int haveSentence, long bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: task {TaskId} could not be dispatched")]
    private partial void LogDispatchFailed(string sessionId, string taskId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: the record of task {TaskId} could not be written")]
    private partial void LogRecordFailed(string sessionId, string taskId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: task {TaskId}'s task grain did not take its {Status} report")]
    private partial void LogRecordFailed(string sessionId, string taskId, SynthesisStatus status, Exception exception);
}
