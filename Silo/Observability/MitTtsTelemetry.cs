using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace MitTts.Silo.Observability;

/// <summary>OpenTelemetry for every MitTts process: MitTts's, Orleans' and ASP.NET Core's meters on a Prometheus endpoint (and OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set), traces of ASP.NET Core, Orleans grain calls and synthesis to OTLP.</summary>
public static class MitTtsTelemetry
{
    /// <summary>The Prometheus scrape path.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>The same scrape under the REST API's prefix, where the seed lists it (the gateway's HTTP port only).</summary>
    public const string ApiMetricsPath = "/api/v1/metrics";

    /// <summary>MitTts's own activity source: one span per synthesis job, under the request that asked for it.</summary>
    public const string ActivitySourceName = MitTts.Grains.Synthesis.SynthesisTracing.SourceName;

    /// <summary>Latency buckets in seconds: single milliseconds at the low end (first audio and interrupts live there), up to a minute.</summary>
    public static readonly double[] LatencyBuckets =
        [0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    /// <summary>Real-time factor buckets: espeak-ng runs near 0.001, a neural voice on a CPU near 0.1 to 1.</summary>
    public static readonly double[] RealTimeFactorBuckets =
        [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

    private static readonly string[] s_meters =
        ["MitTts.*", "Microsoft.Orleans", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http"];

    private static readonly string[] s_activitySources =
        [ActivitySourceName, "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application"];

    /// <summary>Whether metrics are on (<c>monitoring:metrics_enabled</c>, MIT_TTS_METRICS_ENABLED; default true).</summary>
    public static bool MetricsEnabled(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.GetValue("monitoring:metrics_enabled", true);
    }

    /// <summary>The extra port serving only <c>/metrics</c> (<c>monitoring:prometheus_port</c>, MIT_TTS_PROMETHEUS_PORT), if any.</summary>
    public static int? PrometheusPort(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.GetValue<int?>("monitoring:prometheus_port") is > 0 and var port ? port : null;
    }

    /// <summary>Registers metrics (with the Prometheus exporter) and, when an OTLP endpoint is configured, traces.</summary>
    public static void AddMitTtsTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        var otlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var node = configuration["cluster:node"] is { Length: > 0 } n ? n : Environment.MachineName;
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName, serviceVersion: typeof(MitTtsTelemetry).Assembly.GetName().Version?.ToString(), serviceInstanceId: node));

        if (MetricsEnabled(configuration))
        {
            telemetry.WithMetrics(metrics =>
            {
                metrics.AddMeter(s_meters).AddView(Buckets);
                // Every scrape sees the counters as they are now (the exporter would otherwise cache a scrape for 300 ms).
                metrics.AddPrometheusExporter(options => options.ScrapeResponseCacheDurationMilliseconds = 0);
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        }

        if (otlp)
        {
            // Spans cost only where someone reads them: without an endpoint no trace is recorded at all.
            telemetry.WithTracing(tracing => tracing
                .AddSource(s_activitySources)
                .AddAspNetCoreInstrumentation(options => options.Filter = context => !IsScrape(context.Request.Path))
                .AddOtlpExporter());
        }
    }

    /// <summary>Whether <paramref name="path"/> is a Prometheus scrape (<c>/metrics</c> or <c>/api/v1/metrics</c>): left out of traces and
    /// request logs, as scrapers come every few seconds forever.</summary>
    public static bool IsScrape(PathString path) =>
        path.StartsWithSegments(MetricsPath, StringComparison.Ordinal) || path.StartsWithSegments(ApiMetricsPath, StringComparison.Ordinal);

    /// <summary>Maps the Prometheus scrape endpoint on <paramref name="endpoints"/> at <paramref name="path"/> (<c>/metrics</c> when
    /// null; nothing when metrics are off).</summary>
    public static IEndpointConventionBuilder? MapMitTtsMetrics(this IEndpointRouteBuilder endpoints, IConfiguration configuration, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return MetricsEnabled(configuration) ? endpoints.MapPrometheusScrapingEndpoint(path ?? MetricsPath) : null;
    }

    /// <summary>On the Prometheus port only <c>/metrics</c> answers; the API stays on its own ports.</summary>
    public static void UseMetricsOnlyOnPrometheusPort(this IApplicationBuilder app, int? prometheusPort)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (prometheusPort is not { } port)
        {
            return;
        }

        app.Use((context, next) =>
        {
            if (context.Connection.LocalPort == port && !context.Request.Path.StartsWithSegments(MetricsPath, StringComparison.Ordinal))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return next(context);
        });
    }

    private static MetricStreamConfiguration? Buckets(Instrument instrument)
    {
        if (!instrument.Meter.Name.StartsWith("MitTts.", StringComparison.Ordinal) || instrument is not Histogram<double>)
        {
            return null;
        }

        return instrument.Unit switch
        {
            "s" => new ExplicitBucketHistogramConfiguration { Boundaries = LatencyBuckets },
            "1" => new ExplicitBucketHistogramConfiguration { Boundaries = RealTimeFactorBuckets },
            _ => null,
        };
    }
}
