using System.Diagnostics.Metrics;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Synthesis;

/// <summary>Per-priority scheduling instruments (meter <c>MitTts.Scheduling</c>), exported once a metrics endpoint listens.</summary>
public static class SchedulingMetrics
{
    public const string MeterName = "MitTts.Scheduling";

    private static readonly Meter s_meter = new(MeterName);
    private static readonly UpDownCounter<long> s_queueLength = s_meter.CreateUpDownCounter<long>("mittts.scheduler.queue_length", description: "Jobs waiting for a synthesizer.");
    private static readonly Histogram<double> s_wait = s_meter.CreateHistogram<double>("mittts.scheduler.wait_time", unit: "s", description: "Time from enqueue to first synthesis.");
    private static readonly Counter<long> s_preemptions = s_meter.CreateCounter<long>("mittts.scheduler.preemptions", description: "Jobs paused at a sentence boundary for CRITICAL work.");
    private static readonly Counter<long> s_cancellations = s_meter.CreateCounter<long>("mittts.scheduler.cancellations", description: "Queued or running jobs cancelled.");
    private static readonly Counter<long> s_rejections = s_meter.CreateCounter<long>("mittts.scheduler.rejections", description: "Jobs refused because their level was full.");

    private static KeyValuePair<string, object?> Tag(Priority priority) => new("priority", priority.ToString().ToLowerInvariant());

    public static void Queued(Priority priority, int delta) => s_queueLength.Add(delta, Tag(priority));

    public static void Waited(Priority priority, TimeSpan wait) => s_wait.Record(wait.TotalSeconds, Tag(priority));

    public static void Preempted(Priority priority) => s_preemptions.Add(1, Tag(priority));

    public static void Cancelled(Priority priority) => s_cancellations.Add(1, Tag(priority));

    public static void Rejected(Priority priority) => s_rejections.Add(1, Tag(priority));
}
