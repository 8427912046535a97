using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Synthesis;

/// <summary>Scheduling instruments (meter <c>MitTts.Scheduling</c>: queue length, wait, preemptions, cancellations, rejections, per
/// priority and device) and synthesis instruments (meter <c>MitTts.Synthesis</c>: real-time factor, audio produced and cache hits,
/// per engine and device), exported by the silo's metrics endpoint.</summary>
/// <remarks>Made by the silo's <see cref="IMeterFactory"/>, so each silo (and each test cluster in one process) has its own meters:
/// a listener that wants one silo's figures matches <see cref="Meter.Scope"/> against that silo's factory. Each synthesizer takes its
/// <see cref="DeviceMetrics"/> once, with its tag lists built then, so recording allocates nothing.</remarks>
public sealed class SchedulingMetrics
{
    public const string MeterName = "MitTts.Scheduling";
    public const string SynthesisMeterName = "MitTts.Synthesis";

    private readonly ConcurrentDictionary<string, DeviceMetrics> _devices = new(StringComparer.Ordinal);
    private long _queued;

    public SchedulingMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(MeterName);
        QueueLength = meter.CreateUpDownCounter<long>("mittts.scheduler.queue_length", unit: "{job}", description: "Jobs waiting for a synthesizer, by priority and device.");
        Wait = meter.CreateHistogram<double>("mittts.scheduler.wait_time", unit: "s", description: "Time from enqueue to first synthesis.");
        Preemptions = meter.CreateCounter<long>("mittts.scheduler.preemptions", unit: "{job}", description: "Jobs paused at a sentence boundary for waiting work.");
        Cancellations = meter.CreateCounter<long>("mittts.scheduler.cancellations", unit: "{job}", description: "Queued or running jobs cancelled.");
        Rejections = meter.CreateCounter<long>("mittts.scheduler.rejections", unit: "{job}", description: "Jobs refused because their level was full.");
        meter.CreateObservableGauge("mittts.queue_size", () => Interlocked.Read(ref _queued), unit: "{job}",
            description: "Jobs waiting for a synthesizer on this silo, all levels and devices together (the seed's queue_size).");

        var synthesis = meters.Create(SynthesisMeterName);
        RealTimeFactor = synthesis.CreateHistogram<double>("mittts.synthesis.real_time_factor", unit: "1", description: "Engine time per second of audio, per job (below 1: faster than real time).");
        AudioProduced = synthesis.CreateCounter<double>("mittts.synthesis.audio", unit: "s", description: "Seconds of audio the engines produced.");
        TtsLatency = synthesis.CreateHistogram<double>("mittts.tts_latency", unit: "s", description: "Engine time per spoken job (the seed's tts_latency).");
        CacheHits = synthesis.CreateCounter<long>("mittts.cache.hits", unit: "{job}", description: "Jobs answered from the audio cache, without the engine.");
    }

    internal UpDownCounter<long> QueueLength { get; }

    internal Histogram<double> Wait { get; }

    internal Counter<long> Preemptions { get; }

    internal Counter<long> Cancellations { get; }

    internal Counter<long> Rejections { get; }

    internal Histogram<double> RealTimeFactor { get; }

    internal Counter<double> AudioProduced { get; }

    internal Histogram<double> TtsLatency { get; }

    internal Counter<long> CacheHits { get; }

    internal void QueueChanged(int delta) => Interlocked.Add(ref _queued, delta);

    /// <summary>The instruments of one device, with its tags prepared.</summary>
    public DeviceMetrics ForDevice(string deviceKey) => _devices.GetOrAdd(deviceKey, static (key, metrics) => new DeviceMetrics(metrics, key), this);
}

/// <summary>One synthesizer's instruments: tags built once per priority and engine, none per measurement.</summary>
public sealed class DeviceMetrics
{
    private readonly SchedulingMetrics _metrics;
    private readonly bool _counted = true;
    private DeviceMetrics? _uncounted;
    private readonly string _device;
    private readonly KeyValuePair<string, object?>[][] _byPriority;
    private readonly KeyValuePair<string, object?>[] _deviceOnly;
    private readonly ConcurrentDictionary<string, KeyValuePair<string, object?>[]> _byEngine = new(StringComparer.Ordinal);

    internal DeviceMetrics(SchedulingMetrics metrics, string device)
    {
        _metrics = metrics;
        _device = device;
        var priorities = Enum.GetValues<Priority>();
        _byPriority = new KeyValuePair<string, object?>[priorities.Max(p => (int)p) + 1][];
        foreach (var priority in priorities)
        {
            _byPriority[(int)priority] = [new("priority", priority.ToString().ToLowerInvariant()), new("device", device)];
        }

        _deviceOnly = [new("device", device)];

        // Every series of a device reads 0 from the start rather than appearing at its first event (a rate over a series that
        // does not exist yet is no rate, and an alert on it never fires).
        foreach (var tags in _byPriority)
        {
            if (tags is not null)
            {
                metrics.Preemptions.Add(0, tags);
                metrics.Cancellations.Add(0, tags);
                metrics.Rejections.Add(0, tags);
            }
        }

        metrics.CacheHits.Add(0, _deviceOnly);
    }

    private DeviceMetrics(DeviceMetrics counted)
    {
        _metrics = counted._metrics;
        _device = counted._device;
        _byPriority = counted._byPriority;
        _deviceOnly = counted._deviceOnly;
        _counted = false;
    }

    /// <summary>The same device's instruments for work that is not counted (<see cref="SynthesisRequest.Uncounted"/>): they record nothing.</summary>
    public DeviceMetrics Uncounted => _uncounted ??= new DeviceMetrics(this);

    private ReadOnlySpan<KeyValuePair<string, object?>> Tags(Priority priority) => _byPriority[(int)priority];

    public void Queued(Priority priority, int delta)
    {
        if (_counted)
        {
            _metrics.QueueLength.Add(delta, Tags(priority));
            _metrics.QueueChanged(delta);
        }
    }

    public void Waited(Priority priority, TimeSpan wait)
    {
        if (_counted)
        {
            _metrics.Wait.Record(wait.TotalSeconds, Tags(priority));
        }
    }

    public void Preempted(Priority priority)
    {
        if (_counted)
        {
            _metrics.Preemptions.Add(1, Tags(priority));
        }
    }

    public void Cancelled(Priority priority)
    {
        if (_counted)
        {
            _metrics.Cancellations.Add(1, Tags(priority));
        }
    }

    public void Rejected(Priority priority)
    {
        if (_counted)
        {
            _metrics.Rejections.Add(1, Tags(priority));
        }
    }

    public void CacheHit()
    {
        if (_counted)
        {
            _metrics.CacheHits.Add(1, _deviceOnly);
        }
    }

    /// <summary>A job the engine spoke: <paramref name="audioSeconds"/> of audio in <paramref name="engineSeconds"/> of engine time.</summary>
    public void Spoken(string engine, double audioSeconds, double engineSeconds)
    {
        if (audioSeconds <= 0 || !_counted)
        {
            return;
        }

        var tags = _byEngine.GetOrAdd(engine, static (name, device) => [new("engine", name), new("device", device)], _device);
        _metrics.AudioProduced.Add(audioSeconds, tags);
        _metrics.RealTimeFactor.Record(engineSeconds / audioSeconds, tags);
        _metrics.TtsLatency.Record(engineSeconds, tags);
    }
}
