using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using MitTts.Gateway.Hosting;

namespace MitTts.Gateway.Telemetry;

/// <summary>The gateway's instruments (meter <c>MitTts.Gateway</c>): requests and their duration, WebSocket connections, time to first
/// audio, interrupt latency, rejections and errors by code, process CPU and memory.</summary>
/// <remarks>Tag lists are built once per code, transport or route and reused, so the WebSocket paths (first audio, interrupts) record
/// without allocating. Also counts requests and server errors for the error-rate alert.</remarks>
public sealed class GatewayMetrics
{
    public const string MeterName = "MitTts.Gateway";

    private static readonly KeyValuePair<string, object?>[] s_websocket = [new("transport", "websocket")];
    private static readonly KeyValuePair<string, object?>[] s_rest = [new("transport", "rest")];
    private static readonly KeyValuePair<string, object?> s_accept = new("stage", "accept");
    private static readonly KeyValuePair<string, object?> s_deliver = new("stage", "deliver");
    private static readonly string[] s_rejectionCodes = [Grains.Interfaces.TaskError.Busy, "rate_limited", "too_many_sessions", Security.RateLimits.TooManyActiveTasks];

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<double> _firstAudio;
    private readonly Histogram<double> _interruptLatency;
    private readonly Histogram<double> _streamStage;
    private readonly Counter<long> _rejections;
    private readonly Counter<long> _errors;
    private readonly ConcurrentDictionary<string, KeyValuePair<string, object?>[]> _codeTags = new(StringComparer.Ordinal);
    private long _openWebSockets;
    private long _requestCount;
    private long _serverErrorCount;

    public GatewayMetrics(IMeterFactory meters, ConnectionCounter connections, ResourceMonitor resources)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(MeterName);
        _requests = meter.CreateCounter<long>("mittts.http.requests", unit: "{request}", description: "HTTP requests answered, by method, route and status.");
        _requestDuration = meter.CreateHistogram<double>("mittts.http.request.duration", unit: "s", description: "Time to answer an HTTP request, by method, route and status.");
        meter.CreateObservableGauge("mittts.websocket.connections", () => Interlocked.Read(ref _openWebSockets), unit: "{connection}", description: "Open WebSocket connections.");
        _firstAudio = meter.CreateHistogram<double>("mittts.first_audio", unit: "s", description: "From a synthesis request to its first audio leaving the gateway, by transport.");
        _streamStage = meter.CreateHistogram<double>("mittts.stream.gateway_stage", unit: "s",
            description: "Where a streamed task's first audio spends its time in the gateway, by stage (accept: message to the channel's submit; deliver: first audio from the channel to its frame sent).");
        _interruptLatency = meter.CreateHistogram<double>("mittts.interrupt.latency", unit: "s", description: "From an interrupt message received to its acknowledgement sent.");
        _rejections = meter.CreateCounter<long>("mittts.rejections", unit: "{request}", description: "Requests refused for load, by code (busy, rate_limited, too_many_sessions).");
        _errors = meter.CreateCounter<long>("mittts.errors", unit: "{error}", description: "Errors answered to clients (REST problem details and WebSocket errors), by code.");
        meter.CreateObservableGauge("mittts.active_connections", () => Interlocked.Read(ref _openWebSockets), unit: "{connection}",
            description: "Open WebSocket connections, under the seed's name (the same figure as mittts_websocket_connections).");
        meter.CreateObservableGauge("mittts.http.connections", () => connections.Current, unit: "{connection}", description: "Open client connections (HTTP and WebSocket).");
        meter.CreateObservableGauge("mittts.process.cpu.utilization", () => resources.Current.CpuPercent / 100, unit: "1", description: "This process's CPU use, a fraction of all cores.");
        meter.CreateObservableGauge("mittts.process.memory.utilization", () => MemoryFraction(resources.Current), unit: "1", description: "This process's working set, a fraction of the memory available to it.");
    }

    /// <summary>The load refusals read 0 from the start, not absent until the first one (an alert on their rate needs the series).</summary>
    public void StartSeries()
    {
        foreach (var code in s_rejectionCodes)
        {
            _rejections.Add(0, CodeTags(code));
        }
    }

    /// <summary>Requests answered since start, and of them with a 5xx status other than an unready <c>/ready</c> (the error-rate alert's figures).</summary>
    public (long Requests, long ServerErrors) RequestTotals => (Interlocked.Read(ref _requestCount), Interlocked.Read(ref _serverErrorCount));

    public static double MemoryFraction(ResourceSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return sample.MemoryTotalMb > 0 ? sample.MemoryMb / sample.MemoryTotalMb : 0;
    }

    public void RequestFinished(string method, string route, int status, TimeSpan duration)
    {
        var tags = new TagList { { "method", method }, { "route", route }, { "status", StatusText(status) } };
        _requests.Add(1, tags);
        _requestDuration.Record(duration.TotalSeconds, tags);
        Interlocked.Increment(ref _requestCount);

        // An unready verdict (a 503 from /ready, as while a cluster client gateway warms up) is the probe's answer, not a failure.
        if (status >= StatusCodes.Status500InternalServerError && !Hosting.Readiness.IsUnreadyVerdict(route, status))
        {
            Interlocked.Increment(ref _serverErrorCount);
        }
    }

    public void WebSocketOpened() => Interlocked.Increment(ref _openWebSockets);

    public void WebSocketClosed() => Interlocked.Decrement(ref _openWebSockets);

    /// <summary>First audio of a WebSocket task, <paramref name="since"/> a <see cref="Stopwatch"/> timestamp.</summary>
    public void FirstAudioStreamed(long since) => _firstAudio.Record(Stopwatch.GetElapsedTime(since).TotalSeconds, s_websocket);

    /// <summary>A streamed task's submit goes to its channel; <paramref name="since"/> is when its message arrived.</summary>
    public void StreamAccepted(long since) => _streamStage.Record(Stopwatch.GetElapsedTime(since).TotalSeconds, s_accept);

    /// <summary>A streamed task's first frame went out; <paramref name="since"/> is when its audio came from the channel.</summary>
    public void StreamDelivered(long since) => _streamStage.Record(Stopwatch.GetElapsedTime(since).TotalSeconds, s_deliver);

    /// <summary>A REST <c>?wait=true</c> answer's audio ready, <paramref name="since"/> a <see cref="Stopwatch"/> timestamp.</summary>
    public void FirstAudioAnswered(long since) => _firstAudio.Record(Stopwatch.GetElapsedTime(since).TotalSeconds, s_rest);

    public void InterruptAcknowledged(long since) => _interruptLatency.Record(Stopwatch.GetElapsedTime(since).TotalSeconds);

    public void Rejected(string code) => _rejections.Add(1, CodeTags(code));

    public void Error(string code) => _errors.Add(1, CodeTags(code));

    /// <summary>Counts an error answer as it is written, whatever its shape: under its code in <c>mittts_errors_total</c>, and a 429
    /// in <c>mittts_rejections_total</c> too.</summary>
    public static void Answered(HttpContext http, int status, string code)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (http.RequestServices.GetService<GatewayMetrics>() is { } metrics)
        {
            metrics.Error(code);
            if (status == StatusCodes.Status429TooManyRequests)
            {
                metrics.Rejected(code);
            }
        }
    }

    private KeyValuePair<string, object?>[] CodeTags(string code) => _codeTags.GetOrAdd(code, static c => [new("code", c)]);

    private static string StatusText(int status) => status switch
    {
        200 => "200",
        400 => "400",
        404 => "404",
        429 => "429",
        500 => "500",
        503 => "503",
        _ => status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
