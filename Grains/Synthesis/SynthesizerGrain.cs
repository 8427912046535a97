using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MitTts.Grains.Interfaces;
using MitTts.Speech.Engines;

namespace MitTts.Grains.Synthesis;

/// <summary>One engine slot: a priority queue of jobs, spoken sentence by sentence on the thread pool while the grain keeps taking calls.</summary>
/// <remarks>Placed on the silo its key names and kept there for that silo's life. Between sentences a waiting CRITICAL job
/// preempts the running one, which goes back to the queue with its spoken sentences and resumes at the next one.</remarks>
[KeepAlive]
[DevicePlacement]
public sealed partial class SynthesizerGrain(
    SpeechRenderer renderer,
    IOptions<SynthesisQueueOptions> options,
    TimeProvider time,
    ILocalSiloDetails localSilo,
    ILogger<SynthesizerGrain> logger)
    : Grain, ISynthesizerGrain
{
    // A first guess of espeak-ng's cost per character, replaced by measurements as sentences complete.
    private const double InitialSecondsPerCharacter = 0.0002;
    private const double MeasurementWeight = 0.2;

    private readonly PriorityJobQueue _queue = new(TimeSpan.FromSeconds(options.Value.AgingSeconds));
    private RunningJob? _running;
    private Task? _loop;
    private long _sequence;
    private double _secondsPerCharacter = InitialSecondsPerCharacter;
    private long _completed;
    private long _failed;
    private long _preemptions;
    private long _cancellations;
    private long _rejections;

    private string DeviceKey => this.GetPrimaryKeyString();

    private DateTimeOffset Now => time.GetUtcNow();

    Task<QueueTicket> ISynthesizerGrain.Enqueue(SynthesisJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var priority = job.Request.Priority;
        if (_queue.CountAt(priority) >= options.Value.MaxQueuePerLevel)
        {
            _rejections++;
            SchedulingMetrics.Rejected(priority);
            var workAhead = WorkAheadSeconds();
            return Task.FromResult(new QueueTicket(DeviceKey, -1, workAhead, Accepted: false, RetryAfterSeconds: Math.Max(1, Math.Ceiling(workAhead))));
        }

        _queue.Enqueue(new ScheduledJob(job, ++_sequence, Now));
        SchedulingMetrics.Queued(priority, +1);
        var ticket = TicketFor(job.TaskId)!;
        if (_loop is null || _loop.IsCompleted)
        {
            _loop = ProcessQueueAsync();
        }

        return Task.FromResult(ticket);
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A replaced activation (its directory entry died with another silo, or it crashed) starts with an empty queue:
        // take this device's unfinished tasks back from the node's ledger. In the background, so enqueue calls get through.
        if (options.Value.FailoverLedger)
        {
            _ = RecoverFromLedger();
        }

        return Task.CompletedTask;
    }

    private async Task RecoverFromLedger()
    {
        try
        {
            var entries = await GrainFactory.GetGrain<IDeviceLedgerGrain>(DeviceKeys.Node(DeviceKey)).GetAll();
            foreach (var (taskId, deviceKey) in entries)
            {
                if (deviceKey != DeviceKey || TicketFor(taskId) is not null)
                {
                    continue;
                }

                var task = await GrainFactory.GetGrain<ITaskGrain>(taskId).GetSnapshot();
                if (task is { IsFinished: false } && task.DeviceKey == DeviceKey && TicketFor(taskId) is null)
                {
                    LogRecovered(taskId);
                    await ((ISynthesizerGrain)this).Enqueue(new SynthesisJob(taskId, task.Request, task.CreatedAt));
                }
            }
        }
        catch (Exception e)
        {
            LogRecoveryFailed(DeviceKey, e);
        }
    }

    Task<bool> ISynthesizerGrain.Cancel(string taskId)
    {
        if (_running is { } running && running.Job.TaskId == taskId)
        {
            running.Cancellation.Cancel();
            return Task.FromResult(true);
        }

        if (!_queue.Remove(taskId, out var queued))
        {
            return Task.FromResult(false);
        }

        queued.Progress?.Dispose();
        _cancellations++;
        SchedulingMetrics.Queued(queued.Priority, -1);
        SchedulingMetrics.Cancelled(queued.Priority);
        return Task.FromResult(true);
    }

    Task<int?> ISynthesizerGrain.GetQueuePosition(string taskId) => Task.FromResult(TicketFor(taskId)?.Position);

    Task<SynthesizerStatus> ISynthesizerGrain.GetStatus()
    {
        var byPriority = new Dictionary<Priority, int>();
        foreach (var priority in Enum.GetValues<Priority>())
        {
            byPriority[priority] = _queue.CountAt(priority);
        }

        return Task.FromResult(new SynthesizerStatus(
            DeviceKey, _running is not null, _queue.Count, _completed, _failed, _secondsPerCharacter, WorkAheadSeconds(), byPriority, _preemptions, _cancellations, _rejections, localSilo.Name));
    }

    private double WorkAheadSeconds()
    {
        return ((_running?.Job.RemainingCharacters ?? 0) + _queue.RemainingCharacters) * _secondsPerCharacter;
    }

    /// <summary>Position 0 is the running job; a queued job counts the running one and those served before it.</summary>
    private QueueTicket? TicketFor(string taskId)
    {
        var characters = 0;
        if (_running is { } running)
        {
            if (running.Job.TaskId == taskId)
            {
                return new QueueTicket(DeviceKey, 0, running.Job.RemainingCharacters * _secondsPerCharacter);
            }

            characters = running.Job.RemainingCharacters;
        }

        var order = _queue.ServiceOrder(Now);
        for (var i = 0; i < order.Count; i++)
        {
            characters += order[i].RemainingCharacters;
            if (order[i].TaskId == taskId)
            {
                return new QueueTicket(DeviceKey, i + (_running is null ? 0 : 1), characters * _secondsPerCharacter);
            }
        }

        return null;
    }

    private async Task ProcessQueueAsync()
    {
        while (_queue.TryDequeue(Now, out var job))
        {
            SchedulingMetrics.Queued(job.Priority, -1);

            // Running from the moment it leaves the queue, so dispatch never mistakes this device for idle.
            using var cancellation = new CancellationTokenSource();
            _running = new RunningJob(job, cancellation);
            try
            {
                var task = GrainFactory.GetGrain<ITaskGrain>(job.TaskId);
                Task<bool>? starting = null;
                if (job.Progress is null && !job.Job.Replay)
                {
                    // A streamed task starts speaking at once: its channel refuses audio of a cancelled task, and the task's own
                    // answer (which waits behind the end of its Submit) is checked after the first sentence.
                    starting = Start(job, task);
                    if (!job.Job.Request.Streamed && !await starting)
                    {
                        continue;
                    }
                }

                if (await RunGuardedAsync(job, task, cancellation, starting))
                {
                    _preemptions++;
                    SchedulingMetrics.Preempted(job.Priority);
                    _queue.Enqueue(job);
                    SchedulingMetrics.Queued(job.Priority, +1);
                }
            }
            finally
            {
                _running = null;
            }
        }
    }

    /// <summary>Tells the task its synthesis starts; false when it no longer wants it (cancelled) or cannot be reached.</summary>
    private async Task<bool> Start(ScheduledJob job, ITaskGrain task)
    {
        SchedulingMetrics.Waited(job.Priority, Now - job.EnqueuedAt);
        try
        {
            if (await TaskCallRetry.WhileSiloDies(task.MarkProcessing))
            {
                return true;
            }

            // Cancelled between leaving the queue and starting: counted like any other cancellation (a streamed job's when it stops).
            if (!job.Job.Request.Streamed)
            {
                _cancellations++;
                SchedulingMetrics.Cancelled(job.Priority);
            }

            return false;
        }
        catch (Exception e)
        {
            LogTaskUnreachable(job.TaskId, e);
            return false;
        }
    }

    /// <summary>Speaks the job's remaining sentences; true when it stopped early for CRITICAL work and must be queued again.</summary>
    private async Task<bool> RunAsync(ScheduledJob job, ITaskGrain task, CancellationToken cancellationToken)
    {
        var request = job.Job.Request;
        if (job.Progress is null)
        {
            if (renderer.TryGetCached(request) is { } cached)
            {
                await CompleteFromCache(task, cached);
                return false;
            }

            job.Progress = new SentenceProgress(renderer.Sentences(request));
        }

        var progress = job.Progress;
        var (voice, engine) = renderer.Resolve(request);
        progress.SampleRate = engine.SampleRate;
        while (!progress.IsDone)
        {
            var sentence = progress.Sentences[progress.Next];
            var started = time.GetTimestamp();
            await Task.Run(() => engine.SynthesizeAsync(renderer.EngineRequest(request, voice, sentence), progress.Pcm, cancellationToken), CancellationToken.None);
            if (await SentenceSpoken(job, task, sentence.Length, started))
            {
                return true;
            }
        }

        var audio = await Task.Run(() => renderer.Finish(progress.Pcm.Samples, progress.SampleRate, request), CancellationToken.None);
        job.Progress = null;
        progress.Dispose();
        _completed++;
        await TaskCallRetry.WhileSiloDies(() => task.Complete(audio));
        return false;
    }

    /// <summary>Speaks a streamed job's remaining sentences, sending audio to the session's channel as the engine makes it; true when
    /// it stopped early for CRITICAL work and must be queued again.</summary>
    private async Task<bool> RunStreamedAsync(ScheduledJob job, ITaskGrain task, CancellationTokenSource cancellation, Task<bool>? starting)
    {
        var request = job.Job.Request;
        var taskId = job.Job.TaskId;
        var channel = GrainFactory.GetGrain<IAudioChannelGrain>(request.SessionId ?? taskId);
        var cancellationToken = cancellation.Token;
        if (job.Progress is null)
        {
            if (!request.WordTimestamps && renderer.TryGetCached(request) is { } cached)
            {
                // Sentence 0 of a one-piece stream, and its end.
                await TaskCallRetry.WhileSiloDies(() => channel.PushAudio(new AudioBatch(taskId, 0, cached.Data, null, SentenceComplete: true, Final: true, 1.0, (int)(cached.DurationSeconds * 1000))));
                await CompleteFromCache(task, cached);
                return false;
            }

            job.Progress = new SentenceProgress(renderer.Sentences(request));
        }

        var progress = job.Progress;
        var (voice, engine) = renderer.Resolve(request);
        var stream = progress.Stream ??= await renderer.StartStream(request, voice, engine, cancellationToken);
        var count = progress.Sentences.Count;
        while (!progress.IsDone)
        {
            var index = progress.Next;
            var sentence = progress.Sentences[index];
            var started = time.GetTimestamp();
            stream.BeginSentence(index, sentence);
            var speaking = Task.Run(() => engine.SynthesizeAsync(renderer.EngineRequest(request, voice, sentence), stream, cancellationToken), CancellationToken.None);
            var wanted = index;
            while (true)
            {
                await Task.WhenAny(speaking, stream.WaitForAudioAsync());
                var spoken = speaking.IsCompleted;
                if (spoken)
                {
                    await speaking;
                    stream.EndSentence();
                }

                var fraction = (double)(index + (spoken ? 1 : 0)) / count;
                if (stream.TakeBatch(taskId, index, spoken, final: false, fraction) is { } batch)
                {
                    wanted = await TaskCallRetry.WhileSiloDies(() => channel.PushAudio(batch));
                    if (wanted < 0)
                    {
                        // The channel dropped the task (interrupted): stop the engine now rather than wait for the task's cancel.
                        await cancellation.CancelAsync();
                    }
                }

                if (spoken)
                {
                    break;
                }
            }

            if (starting is not null)
            {
                var accepted = await starting;
                starting = null;
                if (!accepted)
                {
                    await cancellation.CancelAsync();
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }

            if (wanted >= 0 && wanted <= index)
            {
                // The channel lost sentences with its silo and wants them again: go back and speak them once more.
                Measure(sentence.Length, time.GetElapsedTime(started));
                progress.Next = wanted;
                continue;
            }

            if (await SentenceSpoken(job, task, sentence.Length, started))
            {
                return true;
            }
        }

        // The tail: what the encoder still holds, numbered one past the last sentence, and the end of the task.
        stream.BeginTail();
        stream.Complete();
        if (stream.TakeBatch(taskId, count, sentenceComplete: true, final: true, 1.0) is { } tail && await TaskCallRetry.WhileSiloDies(() => channel.PushAudio(tail)) < 0)
        {
            await cancellation.CancelAsync();
            cancellationToken.ThrowIfCancellationRequested();
        }

        var encoder = Speech.Audio.AudioEncoders.Get(request.Format.ToString());
        var whole = stream.Whole.ToArray();
        Speech.Audio.WavEncoder.SetLengths(whole);
        var audio = new AudioResult(whole, encoder.ContentType, encoder.FileExtension,
            SpeechRenderer.OutputRate(request, encoder, engine.SampleRate), stream.DurationMs / 1000.0);
        DropProgress(job);
        _completed++;
        await TaskCallRetry.WhileSiloDies(() => task.Complete(audio));
        return false;
    }

    /// <summary>Runs the job (streamed or whole); cancellation and failures end it here, so neither kind repeats the bookkeeping.</summary>
    private async Task<bool> RunGuardedAsync(ScheduledJob job, ITaskGrain task, CancellationTokenSource cancellation, Task<bool>? starting)
    {
        try
        {
            return job.Job.Request.Streamed
                ? await RunStreamedAsync(job, task, cancellation, starting)
                : await RunAsync(job, task, cancellation.Token);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // Cancelled through Cancel() (or an interrupt): the task grain records it.
            _cancellations++;
            SchedulingMetrics.Cancelled(job.Priority);
            DropProgress(job);
        }
        catch (Exception e)
        {
            _failed++;
            DropProgress(job);
            LogSynthesisFailed(job.TaskId, e);
            await TryFail(task, e);
        }

        return false;
    }

    /// <summary>Completes the task with an identical earlier request's audio: the engine never runs.</summary>
    private async Task CompleteFromCache(ITaskGrain task, AudioResult cached)
    {
        _completed++;
        await TaskCallRetry.WhileSiloDies(() => task.Complete(cached));
    }

    /// <summary>Books a spoken sentence; true when waiting CRITICAL work should preempt the job before its next sentence.</summary>
    private async Task<bool> SentenceSpoken(ScheduledJob job, ITaskGrain task, int characters, long started)
    {
        Measure(characters, time.GetElapsedTime(started));
        var progress = job.Progress!;
        progress.Next++;
        job.RemainingCharacters = Math.Max(0, job.RemainingCharacters - characters);
        if (progress.IsDone)
        {
            return false;
        }

        await task.ReportProgress((double)progress.Next / progress.Sentences.Count);
        return job.Priority != Priority.Critical && _queue.HasWaiting(Priority.Critical, Now);
    }

    private static void DropProgress(ScheduledJob job)
    {
        job.Progress?.Dispose();
        job.Progress = null;
    }

    private void Measure(int characters, TimeSpan elapsed)
    {
        if (characters > 0)
        {
            var measured = elapsed.TotalSeconds / characters;
            _secondsPerCharacter += MeasurementWeight * (measured - _secondsPerCharacter);
        }
    }

    private async Task TryFail(ITaskGrain task, Exception failure)
    {
        var error = failure is SpeechEngineUnavailableException
            ? new TaskError("engine_unavailable", failure.Message)
            : new TaskError("synthesis_failed", failure.Message);
        try
        {
            await TaskCallRetry.WhileSiloDies(() => task.Fail(error));
        }
        catch (Exception e)
        {
            LogTaskUnreachable(task.GetPrimaryKeyString(), e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} taken back from the ledger by a new synthesizer activation")]
    private partial void LogRecovered(string taskId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Synthesizer {DeviceKey} could not read its ledger")]
    private partial void LogRecoveryFailed(string deviceKey, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} could not be reached; its job is dropped")]
    private partial void LogTaskUnreachable(string taskId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Synthesis of task {TaskId} failed")]
    private partial void LogSynthesisFailed(string taskId, Exception exception);

    private sealed record RunningJob(ScheduledJob Job, CancellationTokenSource Cancellation);
}
