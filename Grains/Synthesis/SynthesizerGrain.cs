using Microsoft.Extensions.Logging;
using MitTts.Grains.Interfaces;
using Orleans.Placement;
using MitTts.Speech.Audio;
using MitTts.Speech.Engines;

namespace MitTts.Grains.Synthesis;

/// <summary>One engine slot: a priority queue of jobs, run one at a time on the thread pool while the grain keeps taking calls.</summary>
[KeepAlive]
[PreferLocalPlacement]
public sealed partial class SynthesizerGrain(SpeechRenderer renderer, ILogger<SynthesizerGrain> logger)
    : Grain, ISynthesizerGrain
{
    // A first guess of espeak-ng's cost per character, replaced by measurements as jobs complete.
    private const double InitialSecondsPerCharacter = 0.0002;
    private const double MeasurementWeight = 0.2;

    private readonly PriorityJobQueue _queue = new();
    private RunningJob? _running;
    private Task? _loop;
    private double _secondsPerCharacter = InitialSecondsPerCharacter;
    private long _completed;
    private long _failed;

    private string DeviceKey => this.GetPrimaryKeyString();

    Task<QueueTicket> ISynthesizerGrain.Enqueue(SynthesisJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        _queue.Enqueue(job);
        var ticket = TicketFor(job.TaskId) ?? new QueueTicket(DeviceKey, 0, 0);
        if (_loop is null || _loop.IsCompleted)
        {
            _loop = ProcessQueueAsync();
        }

        return Task.FromResult(ticket);
    }

    Task<bool> ISynthesizerGrain.Cancel(string taskId)
    {
        if (_running is { } running && running.Job.TaskId == taskId)
        {
            running.Cancellation.Cancel();
            return Task.FromResult(true);
        }

        return Task.FromResult(_queue.Remove(taskId));
    }

    Task<int?> ISynthesizerGrain.GetQueuePosition(string taskId) => Task.FromResult(TicketFor(taskId)?.Position);

    Task<SynthesizerStatus> ISynthesizerGrain.GetStatus() =>
        Task.FromResult(new SynthesizerStatus(DeviceKey, _running is not null, _queue.Count, _completed, _failed, _secondsPerCharacter));

    /// <summary>Position 0 is the running job; queued jobs count the running one and those served before them.</summary>
    private QueueTicket? TicketFor(string taskId)
    {
        var runningCharacters = 0;
        if (_running is { } running)
        {
            if (running.Job.TaskId == taskId)
            {
                return new QueueTicket(DeviceKey, 0, running.Job.Request.Text.Length * _secondsPerCharacter);
            }

            runningCharacters = running.Job.Request.Text.Length;
        }

        var upTo = _queue.UpTo(taskId);
        if (upTo.Count == 0)
        {
            return null;
        }

        var characters = runningCharacters;
        foreach (var job in upTo)
        {
            characters += job.Request.Text.Length;
        }

        var position = upTo.Count - 1 + (_running is null ? 0 : 1);
        return new QueueTicket(DeviceKey, position, characters * _secondsPerCharacter);
    }

    private async Task ProcessQueueAsync()
    {
        while (_queue.TryDequeue(out var job))
        {
            var task = GrainFactory.GetGrain<ITaskGrain>(job.TaskId);
            try
            {
                if (!await task.MarkProcessing())
                {
                    continue;
                }
            }
            catch (Exception e)
            {
                LogTaskUnreachable(job.TaskId, e);
                continue;
            }

            using var cancellation = new CancellationTokenSource();
            _running = new RunningJob(job, cancellation);
            try
            {
                var started = TimeProvider.System.GetTimestamp();
                var audio = await Task.Run(() => SynthesizeAsync(job.Request, cancellation.Token), CancellationToken.None);
                Measure(job.Request.Text.Length, TimeProvider.System.GetElapsedTime(started));
                _completed++;
                await task.Complete(audio);
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                // Cancelled through Cancel(): the task grain already recorded it.
            }
            catch (Exception e)
            {
                _failed++;
                LogSynthesisFailed(job.TaskId, e);
                await TryFail(task, e);
            }
            finally
            {
                _running = null;
            }
        }
    }

    private async Task<AudioResult> SynthesizeAsync(SynthesisRequest request, CancellationToken cancellationToken)
    {
        var (voice, engine) = renderer.Resolve(request);
        using var pcm = new PcmBuffer();
        await engine.SynthesizeAsync(SpeechRenderer.EngineRequest(request, voice, request.Text), pcm, cancellationToken);
        return SpeechRenderer.Finish(pcm.Samples, engine.SampleRate, request);
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
            await task.Fail(error);
        }
        catch (Exception e)
        {
            LogTaskUnreachable(task.GetPrimaryKeyString(), e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} could not be reached; its job is dropped")]
    private partial void LogTaskUnreachable(string taskId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Synthesis of task {TaskId} failed")]
    private partial void LogSynthesisFailed(string taskId, Exception exception);

    private sealed record RunningJob(SynthesisJob Job, CancellationTokenSource Cancellation);
}
