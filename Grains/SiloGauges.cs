using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MitTts.Grains.Channels;
using MitTts.Grains.Configuration;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Results;

namespace MitTts.Grains;

/// <summary>What a silo holds, as gauges (meter <c>MitTts.Silo</c>): the result store's bytes, entries, evictions and expirations, the
/// channel buffers and sessions, and the live configuration version in effect.</summary>
/// <remarks>The result store answers asynchronously (Redis: one INFO), so its figures are sampled every few seconds and the gauges read
/// the last sample; a scrape never waits on Redis.</remarks>
public sealed partial class SiloGauges : BackgroundService
{
    public const string MeterName = "MitTts.Silo";
    private static readonly TimeSpan s_interval = TimeSpan.FromSeconds(5);

    private readonly IResultStore _results;
    private readonly ILogger<SiloGauges> _logger;
    private volatile ResultStoreStatistics? _last;

    public SiloGauges(IMeterFactory meters, IResultStore results, ChannelBuffers buffers, LiveSettings settings, ILogger<SiloGauges> logger)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _results = results;
        _logger = logger;
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("mittts.result_store.size", () => Sample(s =>
            [Tagged(s.MemoryBytes, "tier", "memory"), Tagged(s.DiskBytes, "tier", "disk")]), unit: "By", description: "Bytes of finished results held, in memory and on disk (Redis: its used memory).");
        meter.CreateObservableGauge("mittts.result_store.budget", () => Sample(s =>
            [Tagged(s.MemoryBudgetBytes, "tier", "memory"), Tagged(s.DiskBudgetBytes, "tier", "disk")]), unit: "By", description: "The result store's budgets (-1: not counted).");
        meter.CreateObservableGauge("mittts.result_store.entries", () => Sample(s =>
            [Tagged(s.Records, "kind", "record"), Tagged(s.AudioEntries, "kind", "audio")]), unit: "{entry}", description: "Finished task records and kept audio files.");
        meter.CreateObservableCounter("mittts.result_store.evictions", () => Sample(s => [new Measurement<long>(s.Evictions)]), unit: "{entry}", description: "Results evicted early to stay within a budget.");
        meter.CreateObservableCounter("mittts.result_store.expirations", () => Sample(s => [new Measurement<long>(s.Expirations)]), unit: "{entry}", description: "Results that left when their TTL ran out.");
        meter.CreateObservableGauge("mittts.channel_buffers.size", () => buffers.TotalBytes, unit: "By", description: "Audio this silo's sessions hold for resuming and unsent.");
        meter.CreateObservableGauge("mittts.channel_buffers.blocks", BlockUsage, unit: "By", description: "Native memory of the blocks that hold sessions' kept audio (this process): holding audio, and free for reuse.");
        meter.CreateObservableGauge("mittts.sessions", () => buffers.Sessions, unit: "{session}", description: "Sessions (audio channels) on this silo.");
        meter.CreateObservableGauge("mittts.config.version", () => settings.Current.Version, description: "The live configuration version in effect on this silo.");
        meter.CreateObservableGauge("mittts.scheduler.queue_limit", () => settings.Current.MaxQueuePerLevel, unit: "{job}", description: "Jobs one priority level of one device may hold (live: scheduling.max_queue_per_level).");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(s_interval);
        try
        {
            do
            {
                try
                {
                    _last = await _results.GetStatistics(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Redis away: the gauges keep the last sample; readiness and /health say what is wrong.
                    LogSampleFailed(e);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static Measurement<long>[] BlockUsage()
    {
        var (used, free) = ResumeBlocks.Usage();
        return [Tagged(used, "state", "used"), Tagged(free, "state", "free")];
    }

    private static Measurement<long> Tagged(long value, string key, string tag) => new(value, new KeyValuePair<string, object?>(key, tag));

    private Measurement<long>[] Sample(Func<ResultStoreStatistics, Measurement<long>[]> read) =>
        _last is { } last ? read(last) : [];

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sampling the result store failed")]
    private partial void LogSampleFailed(Exception exception);
}
