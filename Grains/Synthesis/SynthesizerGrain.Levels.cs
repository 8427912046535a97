using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Synthesis;

/// <summary>A job's level after it was queued: put back after a preemption, or raised by its owner.</summary>
public sealed partial class SynthesizerGrain
{
    Task ISynthesizerGrain.Raise(string taskId, Priority priority)
    {
        if (_queue.Find(taskId) is { } waiting && priority > waiting.Priority)
        {
            MetricsOf(waiting.Job.Request).Queued(waiting.Priority, -1);
            _queue.Raise(waiting, priority);
            MetricsOf(waiting.Job.Request).Queued(waiting.Priority, +1);
            Reconsider();
        }
        else if (_running is { } running && running.TaskId == taskId && priority > running.Priority)
        {
            // Its next sentence is weighed at the new level (a CRITICAL one yields to nothing).
            running.Priority = priority;
            Reconsider();
        }

        return Task.CompletedTask;
    }

    /// <summary>Puts a preempted job back in the queue, with its progress: where it was when a CRITICAL job preempted it (FIFO within its
    /// level holds), or, when it yielded to another session's first sentence, behind the jobs already waiting in the round it ran in;
    /// ahead of its own session's later jobs either way (<see cref="PriorityJobQueue"/>).</summary>
    private void Requeue(ScheduledJob job)
    {
        _preemptions += Count(job.Job.Request);
        MetricsOf(job.Job.Request).Preempted(job.Priority);
        _queue.Enqueue(job, keepPlace: job.Priority != Priority.Critical && _queue.HasWaiting(Priority.Critical, Now));
        MetricsOf(job.Job.Request).Queued(job.Priority, +1);
    }
}
