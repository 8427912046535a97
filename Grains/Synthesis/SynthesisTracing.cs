using System.Diagnostics;

namespace MitTts.Grains.Synthesis;

/// <summary>The <c>MitTts.Synthesis</c> activity source: one span per run of a job on a device, a child of the request that asked for
/// it (its context travels with the job, since the queue loop runs under whichever call started it).</summary>
/// <remarks>Without a listener (no OTLP endpoint) <see cref="ActivitySource.StartActivity(string, ActivityKind, ActivityContext, IEnumerable{KeyValuePair{string, object}}, IEnumerable{ActivityLink}, DateTimeOffset)"/>
/// returns null and costs nothing.</remarks>
public static class SynthesisTracing
{
    public const string SourceName = "MitTts.Synthesis";

    public static ActivitySource Source { get; } = new(SourceName);

    /// <summary>A span for <paramref name="job"/> on <paramref name="deviceKey"/>, or null when nobody listens.</summary>
    public static Activity? Start(ScheduledJob job, string deviceKey)
    {
        ArgumentNullException.ThrowIfNull(job);
        var activity = Source.StartActivity("synthesize", ActivityKind.Internal, job.Parent);
        if (activity is not null)
        {
            activity.SetTag("mittts.task_id", job.TaskId);
            activity.SetTag("mittts.device", deviceKey);
            activity.SetTag("mittts.voice", job.Job.Request.VoiceId);
            activity.SetTag("mittts.text_length", job.Job.Request.Text.Length);
        }

        return activity;
    }
}
