using Orleans.Concurrency;

namespace MitTts.Grains.Interfaces;

/// <summary>One synthesis task (key: task id): its request, lifecycle, progress, error and result.</summary>
public interface ITaskGrain : IGrainWithStringKey
{
    /// <summary>Accepts the request and queues it for synthesis; submitting the same task id again returns the existing task.</summary>
    Task<TaskSnapshot> Submit(SynthesisRequest request);

    /// <summary>The task as it is now, or null when no task has this id (or its result expired).</summary>
    Task<TaskSnapshot?> GetSnapshot();

    /// <summary>The encoded audio, or null until the task has completed.</summary>
    Task<AudioResult?> GetAudio();

    /// <summary>Completes when the task reaches an end state, returning that state.</summary>
    [AlwaysInterleave]
    Task<TaskSnapshot?> WaitForCompletion();

    /// <summary>Cancels the task if it has not finished; true when this call cancelled it.</summary>
    Task<bool> Cancel();

    /// <summary>Called by the synthesizer when it starts the task; false when the task no longer wants synthesis.</summary>
    Task<bool> MarkProcessing();

    /// <summary>Called by the synthesizer after each sentence: the fraction of the text spoken so far.</summary>
    [OneWay]
    Task ReportProgress(double progress);

    /// <summary>Queues the task again elsewhere when <paramref name="deadDeviceKey"/>, the device it was on, died with its silo.</summary>
    Task Redispatch(string deadDeviceKey);

    /// <summary>Speaks a completed streamed task again for its session channel, which lost audio it had not yet sent with a dead
    /// silo; the channel keeps only what it lacks. The task's state and stored audio do not change. False when there is nothing to replay.</summary>
    Task<bool> Replay();

    /// <summary>Called by the synthesizer with the finished audio.</summary>
    Task Complete(AudioResult audio);

    /// <summary>Called by the synthesizer when synthesis failed.</summary>
    Task Fail(TaskError failure);
}
