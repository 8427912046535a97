using System.Diagnostics.Metrics;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Synthesis;

/// <summary>Per-priority scheduling instruments (meter <c>MitTts.Scheduling</c>), exported once a metrics endpoint listens.</summary>
/// <remarks>Made by the silo's <see cref="IMeterFactory"/>, so each silo (and each test cluster in one process) has its own meter:
/// a listener that wants one silo's figures matches <see cref="Meter.Scope"/> against that silo's factory.</remarks>
public sealed class SchedulingMetrics
{
    public const string MeterName = "MitTts.Scheduling";

    private readonly UpDownCounter<long> _queueLength;
    private readonly Histogram<double> _wait;
    private readonly Counter<long> _preemptions;
    private readonly Counter<long> _cancellations;
    private readonly Counter<long> _rejections;

    public SchedulingMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(MeterName);
        _queueLength = meter.CreateUpDownCounter<long>("mittts.scheduler.queue_length", description: "Jobs waiting for a synthesizer.");
        _wait = meter.CreateHistogram<double>("mittts.scheduler.wait_time", unit: "s", description: "Time from enqueue to first synthesis.");
        _preemptions = meter.CreateCounter<long>("mittts.scheduler.preemptions", description: "Jobs paused at a sentence boundary for waiting work.");
        _cancellations = meter.CreateCounter<long>("mittts.scheduler.cancellations", description: "Queued or running jobs cancelled.");
        _rejections = meter.CreateCounter<long>("mittts.scheduler.rejections", description: "Jobs refused because their level was full.");
    }

    private static KeyValuePair<string, object?> Tag(Priority priority) => new("priority", priority.ToString().ToLowerInvariant());

    public void Queued(Priority priority, int delta) => _queueLength.Add(delta, Tag(priority));

    public void Waited(Priority priority, TimeSpan wait) => _wait.Record(wait.TotalSeconds, Tag(priority));

    public void Preempted(Priority priority) => _preemptions.Add(1, Tag(priority));

    public void Cancelled(Priority priority) => _cancellations.Add(1, Tag(priority));

    public void Rejected(Priority priority) => _rejections.Add(1, Tag(priority));
}
