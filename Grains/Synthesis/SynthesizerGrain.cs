using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MitTts.Grains.Configuration;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis.Neural;
using MitTts.Speech.Engines;
using Orleans.Concurrency;

namespace MitTts.Grains.Synthesis;

/// <summary>One engine slot: a priority queue of jobs, spoken sentence by sentence on the thread pool while the grain keeps taking calls.</summary>
/// <remarks>Placed on the silo its key names and kept there for that silo's life. Each job's owner pulls it through
/// <see cref="ISynthesizerGrain.Synthesize"/>; nobody is called back. Between sentences a waiting CRITICAL job preempts the running one,
/// and so does the first sentence of a job of another session at the running one's level, so many sessions that start together all hear
/// audio soon; a preempted job goes back to the queue with its spoken sentences and resumes at the next one. Reentrant: every state
/// change happens between awaits on the grain's scheduler.</remarks>
[KeepAlive]
[Reentrant]
[DevicePlacement]
public sealed partial class SynthesizerGrain(
    SpeechRenderer renderer,
    NeuralEngines neural,
    SchedulingMetrics metrics,
    IOptions<SynthesisQueueOptions> options,
    LiveSettings settings,
    TimeProvider time,
    ILocalSiloDetails localSilo,
    ILogger<SynthesizerGrain> logger)
    : Grain, ISynthesizerGrain
{
    private readonly PriorityJobQueue _queue = new(TimeSpan.FromSeconds(options.Value.AgingSeconds));
    private ScheduledJob? _running;

    // The jobs of a running batch (neural voices), the leader among them; empty otherwise.
    private readonly List<ScheduledJob> _companions = [];
    private Task? _loop;
    private long _sequence;
    private long _completed;
    private long _failed;
    private long _preemptions;
    private long _cancellations;
    private long _rejections;
    private bool _stopping;
    private int _readers;
    private TaskCompletionSource? _noReaders;
    private DeviceMetrics? _metrics;

    // How long a stopping silo waits for owners to let go of their jobs' enumerations.
    private static readonly TimeSpan s_ownersLetGo = TimeSpan.FromSeconds(2);

    private string DeviceKey => this.GetPrimaryKeyString();

    private DeviceMetrics Metrics => _metrics ??= metrics.ForDevice(DeviceKey);

    /// <summary>The instruments a job's measurements go to: none for an uncounted job (the gateway's warm-up).</summary>
    private DeviceMetrics MetricsOf(SynthesisRequest request) => request.Uncounted ? Metrics.Uncounted : Metrics;

    /// <summary>What a job adds to the device's counts (completed, cancelled, ...): nothing for an uncounted one.</summary>
    private static int Count(SynthesisRequest request) => request.Uncounted ? 0 : 1;

    /// <summary>The device part of the key (<c>cpu:0</c>, <c>cuda:0</c>): where this synthesizer's neural sessions run.</summary>
    private string Device => DeviceKey[(DeviceKey.LastIndexOf('/') + 1)..];

    private DateTimeOffset Now => time.GetUtcNow();

    IAsyncEnumerable<SynthesisEvent> ISynthesizerGrain.Synthesize(SynthesisJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Counted(Run(job, cancellationToken), cancellationToken);
    }

    /// <summary>Counts the enumerations owners still hold: a stopping silo waits for its owners to have read their jobs' ends (and
    /// written what they keep) before it goes on stopping.</summary>
    private async IAsyncEnumerable<SynthesisEvent> Counted(IAsyncEnumerable<SynthesisEvent> events, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        _readers++;
        try
        {
            await foreach (var synthesisEvent in events.WithCancellation(cancellationToken))
            {
                yield return synthesisEvent;
            }
        }
        finally
        {
            if (--_readers == 0)
            {
                _noReaders?.TrySetResult();
            }
        }
    }

    private async IAsyncEnumerable<SynthesisEvent> Run(SynthesisJob job, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var priority = job.Request.Priority;
        if (_stopping || _queue.CountAt(priority) >= settings.Current.MaxQueuePerLevel)
        {
            _rejections += Count(job.Request);
            MetricsOf(job.Request).Rejected(priority);
            var workAhead = WorkAheadSeconds();
            var message = _stopping ? "The synthesizer's silo is stopping." : "Every synthesizer queue for this priority is full.";
            yield return new JobRefused(new TaskError(TaskError.Busy, message, Math.Max(1, Math.Ceiling(workAhead))));
            yield break;
        }

        Supersede(job.TaskId);
        var scheduled = new ScheduledJob(job, ++_sequence, Now);
        if (TryServeCached(scheduled))
        {
            // A repeat request is answered from the audio cache at once: it costs no engine time, so it waits behind nothing.
            _completed += Count(job.Request);
            yield return new JobQueued(DeviceKey, 0, MinimumEstimateSeconds);
            yield return new JobStarted(DeviceKey);
            while (scheduled.Output.Reader.TryRead(out var cached))
            {
                yield return cached;
            }

            yield break;
        }

        _queue.Enqueue(scheduled);
        MetricsOf(job.Request).Queued(priority, +1);
        Reconsider();
        var ticket = Position(scheduled.TaskId);
        if (_loop is null || _loop.IsCompleted)
        {
            _loop = ProcessQueueAsync();
        }

        yield return new JobQueued(DeviceKey, ticket?.Position ?? 0, ticket?.EstimatedSeconds ?? 0);
        var finished = false;
        try
        {
            var reader = scheduled.Output.Reader;
            while (await reader.WaitToReadAsync(cancellationToken))
            {
                while (reader.TryRead(out var next))
                {
                    finished = next is JobCompleted or JobFailed;
                    yield return next;
                    if (finished)
                    {
                        yield break;
                    }
                }
            }

            finished = true;
        }
        finally
        {
            if (!finished)
            {
                // The owner cancelled or stopped pulling (its silo died): the job is not wanted any more.
                Abandon(scheduled);
            }
        }
    }

    /// <summary>A task asking again for a job this device already has lost its owner (the owner's silo died and the task activated
    /// elsewhere): the old run is cancelled, and whoever still reads it hears why, so the task has one job, not two.</summary>
    private void Supersede(string taskId)
    {
        var old = _running?.TaskId == taskId ? _running : RunningCompanion(taskId) ?? _queue.Find(taskId);
        if (old is not null)
        {
            Abandon(old);
            old.Output.Writer.TryComplete(new OperationCanceledException("The task asked for its job again; this run was superseded."));
        }
    }

    private ScheduledJob? RunningCompanion(string taskId)
    {
        foreach (var job in _companions)
        {
            if (job.TaskId == taskId)
            {
                return job;
            }
        }

        return null;
    }

    private void Abandon(ScheduledJob job)
    {
        if (ReferenceEquals(_running, job) || _companions.Contains(job))
        {
            job.Cancellation.Cancel();

            // Barge-in: the next job's first sentence takes the place of this job's next one in the engine's queue at once.
            Reconsider();
            return;
        }

        if (_queue.Remove(job))
        {
            if (ReferenceEquals(_ahead?.Job, job))
            {
                DropAheadUnlessFor(null);
                Reconsider();
            }

            DropProgress(job);
            _cancellations += Count(job.Job.Request);
            MetricsOf(job.Job.Request).Queued(job.Priority, -1);
            MetricsOf(job.Job.Request).Cancelled(job.Priority);
        }
    }

    Task<int?> ISynthesizerGrain.GetQueuePosition(string taskId) => Task.FromResult(Position(taskId)?.Position);

    Task<SynthesizerStatus> ISynthesizerGrain.GetStatus()
    {
        var byPriority = new Dictionary<Priority, int>();
        foreach (var priority in Enum.GetValues<Priority>())
        {
            byPriority[priority] = _queue.CountAt(priority);
        }

        return Task.FromResult(new SynthesizerStatus(
            DeviceKey, _running is not null, _queue.Count, _completed, _failed, _secondsPerCharacter, WorkAheadSeconds(), byPriority, _preemptions, _cancellations, _rejections, localSilo.Name,
            neural.Status(Device), _batches, _batchedJobs, _largestBatch));
    }

    async Task ISynthesizerGrain.StopForShutdown()
    {
        await StopAll(CancellationToken.None);
        if (_readers > 0)
        {
            // Owners hear the end of their jobs and let go; a job that completed just now is stored by then.
            _noReaders = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await _noReaders.Task.WaitAsync(s_ownersLetGo).ContinueWith(static _ => { }, TaskScheduler.Default);
        }
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => StopAll(cancellationToken);

    /// <summary>The silo is stopping: queued jobs end at once (their owners re-issue them elsewhere or cancel them), the running one
    /// stops within one engine buffer.</summary>
    private async Task StopAll(CancellationToken cancellationToken)
    {
        _stopping = true;
        DropAheadUnlessFor(null);
        foreach (var job in _queue.DrainAll())
        {
            MetricsOf(job.Job.Request).Queued(job.Priority, -1);
            job.Output.Writer.TryComplete(new SiloStoppingException(DeviceKey));
            DropProgress(job);
        }

        if (_running is { } running)
        {
            await running.Cancellation.CancelAsync();
        }

        foreach (var companion in _companions)
        {
            await companion.Cancellation.CancelAsync();
        }

        if (_loop is { } loop)
        {
            await loop.WaitAsync(cancellationToken).ContinueWith(static _ => { }, TaskScheduler.Default);
        }
    }

    private async Task ProcessQueueAsync()
    {
        // Not inside the Synthesize call that started the loop: its owner hears JobQueued before anything else happens.
        await Task.Yield();
        while (!_stopping && _queue.TryDequeue(Now, out var job))
        {
            DropAheadUnlessFor(job);
            MetricsOf(job.Job.Request).Queued(job.Priority, -1);
            if (job.Cancellation.IsCancellationRequested)
            {
                continue;
            }

            // Running from the moment it leaves the queue, so dispatch never mistakes this device for idle.
            _running = job;
            try
            {
                if (job.Progress is null)
                {
                    MetricsOf(job.Job.Request).Waited(job.Priority, Now - job.EnqueuedAt);
                }

                job.Output.Writer.TryWrite(new JobStarted(DeviceKey));
                if (BatchSlot(job) is { } slot)
                {
                    await RunBatchAsync(job, slot);
                }
                else if (await RunGuardedAsync(job))
                {
                    Requeue(job);
                }
            }
            finally
            {
                _running = null;
                _companions.Clear();
            }
        }

        DropAheadUnlessFor(null);
    }

    /// <summary>Runs the job (streamed or whole); cancellation and failures end it here, so neither kind repeats the bookkeeping.</summary>
    private async Task<bool> RunGuardedAsync(ScheduledJob job)
    {
        using var span = SynthesisTracing.Start(job, DeviceKey);
        try
        {
            var preempted = job.Job.Request.Streamed ? await RunStreamedAsync(job) : await RunWholeAsync(job);
            if (!preempted)
            {
                _completed += Count(job.Job.Request);
            }

            return preempted;
        }
        catch (OperationCanceledException) when (job.Cancellation.IsCancellationRequested)
        {
            EndCancelled(job);
        }
        catch (Exception e)
        {
            EndFailed(job, e);
        }

        return false;
    }

    private void EndCancelled(ScheduledJob job)
    {
        _cancellations += Count(job.Job.Request);
        MetricsOf(job.Job.Request).Cancelled(job.Priority);
        DropProgress(job);
        job.Output.Writer.TryComplete(_stopping ? new SiloStoppingException(DeviceKey) : new OperationCanceledException(job.Cancellation.Token));
    }

    private void EndFailed(ScheduledJob job, Exception e)
    {
        _failed++;
        DropProgress(job);
        LogSynthesisFailed(job.TaskId, e);
        var error = e is SpeechEngineUnavailableException
            ? new TaskError(SpeechEngineUnavailableException.Code, e.Message)
            : new TaskError("synthesis_failed", e.Message);
        job.Output.Writer.TryWrite(new JobFailed(error));
        job.Output.Writer.TryComplete();
    }

    /// <summary>Books a spoken sentence; true when waiting work should run before the job's next sentence.</summary>
    private bool SentenceSpoken(ScheduledJob job, int characters, long started)
    {
        var elapsed = time.GetElapsedTime(started);
        job.EngineSeconds += elapsed.TotalSeconds;
        if (!job.Job.Request.Uncounted)
        {
            // The warm-up's first sentence is the first of all, cold: it would stand for the engine until later ones eased it away.
            Measure(characters, elapsed);
        }

        var progress = job.Progress!;
        progress.Next++;
        job.RemainingCharacters = Math.Max(0, job.RemainingCharacters - characters);
        return !progress.IsDone && YieldsTo(job, Now);
    }

    private static void DropProgress(ScheduledJob job)
    {
        job.Progress?.Dispose();
        job.Progress = null;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Synthesis of task {TaskId} failed")]
    private partial void LogSynthesisFailed(string taskId, Exception exception);
}

/// <summary>A job's synthesizer stopped with its silo before finishing it: its owner re-issues it on another device.</summary>
[GenerateSerializer]
public sealed class SiloStoppingException : Exception
{
    public SiloStoppingException()
    {
    }

    public SiloStoppingException(string deviceKey)
        : base($"Synthesizer {deviceKey} is stopping with its silo.")
    {
    }

    public SiloStoppingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
