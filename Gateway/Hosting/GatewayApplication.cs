using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MitTts.Gateway.Apis;
using MitTts.Gateway.Channels;
using MitTts.Gateway.OpenAi;
using MitTts.Gateway.Security;
using MitTts.Gateway.Telemetry;
using MitTts.Gateway.WebSockets;
using MitTts.Grains.Configuration;
using MitTts.Silo;
using MitTts.Silo.Observability;
using Orleans.Dashboard;
using Serilog;
using Serilog.Events;

namespace MitTts.Gateway.Hosting;

/// <summary>Builds the gateway: configuration, logging, Kestrel, the co-hosted silo, and the API.</summary>
public static class GatewayApplication
{
    public const int DefaultHttpPort = 8000;
    public const int DefaultWebSocketPort = 8001;
    public const long MaxRequestBodyBytes = 1024 * 1024;

    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddMitTtsSources(args);
        // The command line wins over the seed's variables and file, as operators expect.
        builder.Configuration.AddCommandLine(args);

        builder.AddMitTtsLogging();
        builder.AddMitTtsTelemetry("mittts-gateway");
        builder.AddMitTtsKestrel();
        builder.AddMitTtsOrleans();
        builder.AddMitTtsApi();
        builder.AddMitTtsSecurity();

        var app = builder.Build();
        app.UseMitTtsForwardedHeaders();
        app.UseMitTtsRequestTelemetry();
        app.UseMetricsOnlyOnPrometheusPort(MitTtsTelemetry.PrometheusPort(app.Configuration));
        app.UseMitTtsNodeHeader();
        app.UseMitTtsSecurityHeaders();
        // The request line outside the exception handler: it logs the status the client got (413 for a body too large, not the 500 of
        // the exception on its way to the handler).
        app.UseSerilogRequestLogging(options => options.GetLevel = RequestLogLevel);
        app.UseExceptionHandler();
        app.UseStatusCodePages(ApiError.WriteBodyless);
        app.UseMitTtsRequestLimits();
        app.UseMitTtsPlayground();
        app.UseMitTtsSecurity();
        app.MapMitTtsApi();
        app.MapWebSocketApi();
        app.MapAdminEndpoints();
        return app;
    }

    /// <summary>The web playground at <c>/</c>: static files from <c>wwwroot</c> beside the binaries, open to all (it asks for a token
    /// itself when the server has auth on).</summary>
    public static void UseMitTtsPlayground(this WebApplication app)
    {
        var root = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        if (!Directory.Exists(root))
        {
            return;
        }

        var files = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(root);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
    }

    /// <summary>Scrapes and probes (every few seconds, forever) are logged at Debug; failures at Error, except an unready verdict (503
    /// from <c>/ready</c>, as while a cluster client gateway warms up), which is the probe's answer, at Information; everything else at Information.</summary>
    private static LogEventLevel RequestLogLevel(HttpContext context, double elapsedMs, Exception? exception)
    {
        var path = context.Request.Path;
        if (exception is not null || context.Response.StatusCode >= StatusCodes.Status500InternalServerError)
        {
            if (exception is null && Readiness.IsUnreadyVerdict(path.Value, context.Response.StatusCode))
            {
                return LogEventLevel.Information;
            }

            // A 503 while the server stops (server_stopping: send it again) is the stop doing its job, not a fault.
            return exception is null && context.Response.StatusCode == StatusCodes.Status503ServiceUnavailable
                && context.RequestServices.GetService<IHostApplicationLifetime>()?.ApplicationStopping.IsCancellationRequested == true
                ? LogEventLevel.Warning
                : LogEventLevel.Error;
        }

        // The probes answer under /api/v1 and at the root alike.
        var probe = path.StartsWithSegments("/api/v1", StringComparison.Ordinal, out var rest) ? rest : path;

        return MitTtsTelemetry.IsScrape(path)
            || probe.StartsWithSegments("/health", StringComparison.Ordinal)
            || probe.StartsWithSegments("/ready", StringComparison.Ordinal)
            ? LogEventLevel.Debug
            : LogEventLevel.Information;
    }

    public static void AddMitTtsKestrel(this WebApplicationBuilder builder)
    {
        var server = builder.Configuration.GetSection("server");
        var host = server["host"] ?? "127.0.0.1";
        var port = server.GetValue("http_port", DefaultHttpPort);
        var wsPort = server.GetValue("ws_port", DefaultWebSocketPort);
        var connections = new ConnectionCounter();
        builder.Services.AddSingleton(connections);
        // server:inline_scheduling (default on): Kestrel runs a connection's continuations on the thread that completed its socket
        // operation (a pool thread; socket completions themselves stay on the pool) instead of handing them to its I/O queues. With 50
        // sessions streaming on two cores, a frame's flush waited for an I/O queue's turn, and an interrupt's acknowledgement behind it:
        // client-side acknowledgement p99 17-25 ms without, 6.5-8 ms with (interrupt benchmark, two runs each, alternating).
        if (server.GetValue("inline_scheduling", true))
        {
            builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            RequestLimits.Configure(kestrel.Limits);
            kestrel.AddServerHeader = false;
            Action<Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions> configure =
                listen => listen.Use(next => connection => connection is null ? next(connection!) : connections.Track(() => next(connection)));
            Listen(kestrel, host, port, configure);

            // The WebSocket port serves /ws (and the rest, harmlessly); the HTTP port serves /ws too, so one load balancer port suffices.
            if (wsPort != port)
            {
                Listen(kestrel, host, wsPort, configure);
            }

            // MIT_TTS_PROMETHEUS_PORT: /metrics alone on a port of its own, for scrapers kept off the API ports.
            if (MitTtsTelemetry.PrometheusPort(builder.Configuration) is { } metricsPort && metricsPort != port && metricsPort != wsPort
                && MitTtsTelemetry.MetricsEnabled(builder.Configuration))
            {
                Listen(kestrel, host, metricsPort, _ => { });
            }
        });
    }

    private static void Listen(Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions kestrel, string host, int port, Action<Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions> configure)
    {
        switch (host)
        {
            case "0.0.0.0" or "*" or "+":
                kestrel.ListenAnyIP(port, configure);
                break;
            case "localhost":
                kestrel.ListenLocalhost(port, configure);
                break;
            default:
                if (!IPAddress.TryParse(host, out var address))
                {
                    throw new InvalidOperationException($"server.host (MIT_TTS_HOST) must be an IP address, 0.0.0.0 or localhost, not '{host}'.");
                }

                kestrel.Listen(address, port, configure);
                break;
        }
    }

    public static void AddMitTtsApi(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<GatewayTtsOptions>(builder.Configuration.GetSection(GatewayTtsOptions.Section));
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
            json.SerializerOptions.Converters.Add(new Contracts.IsoTimestampConverter());
        });
        services.AddProblemDetails();
        services.AddExceptionHandler<GatewayExceptionHandler>();
        services.AddSingleton<VoiceCache>();
        services.AddSingleton(ChannelReaderHome.Of);
        services.AddHostedService(sp => sp.GetRequiredService<VoiceCache>());
        services.AddSingleton<SynthesisRequestValidator>();
        services.Configure<OpenAiOptions>(builder.Configuration.GetSection(OpenAiOptions.Section));
        services.Configure<WebSocketProtocolOptions>(builder.Configuration.GetSection(WebSocketProtocolOptions.Section));
        services.AddSingleton(builder.Configuration.GetSection(Wyoming.WyomingOptions.Section).Get<Wyoming.WyomingOptions>() ?? new Wyoming.WyomingOptions());
        services.AddSingleton<Wyoming.WyomingServer>();
        services.AddHostedService(sp => sp.GetRequiredService<Wyoming.WyomingServer>());
        services.AddSingleton<ResourceMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<ResourceMonitor>());
        services.AddMetrics();
        services.AddSingleton<GatewayMetrics>();
        services.AddSingleton<WarmUp>();
        services.AddHostedService(sp => sp.GetRequiredService<WarmUp>());
        services.AddSingleton<Readiness>();
        services.AddSingleton<AlertMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<AlertMonitor>());
        services.TryAddSingleton(new LiveSettings(builder.Configuration));
        services.AddSingleton<LiveRateLimitOptions>();
        services.AddSingleton<IPostConfigureOptions<RateLimitOptions>>(sp => sp.GetRequiredService<LiveRateLimitOptions>());
        services.AddSingleton<IOptionsChangeTokenSource<RateLimitOptions>>(sp => sp.GetRequiredService<LiveRateLimitOptions>());
        services.AddOpenApi(options =>
        {
            if (AuthOptions.From(builder.Configuration).Enabled)
            {
                OpenApiSecurity.Describe(options);
            }
        });
    }

    public static void MapMitTtsApi(this WebApplication app)
    {
        app.MapOpenApi("/openapi/{documentName}.json");
        app.UseSwaggerUI(ui =>
        {
            ui.SwaggerEndpoint("/openapi/v1.json", "MitTts API v1");
            ui.RoutePrefix = "docs";
            ui.DocumentTitle = "MitTts API";
        });

        app.MapRootAliases();
        app.MapGroup("/api/v1")
            .MapServerApiV1()
            .MapVoicesApiV1()
            .MapSynthesisApiV1()
            .MapSessionsApiV1()
            .MapAuthApiV1()
            .WithTags("MitTts");

        app.MapGroup("/v1")
            .MapOpenAiApiV1()
            .WithTags("OpenAI-compatible");
    }

    /// <summary>The seed's REST endpoints at the root as well as under <c>/api/v1</c>: its examples write <c>GET /health</c>, <c>GET /status</c>,
    /// <c>POST /synthesize</c> and an <c>audio_url</c> of <c>/audio/…</c>, so a client built from them may leave the base path out. The same
    /// handlers, rules and limits; left out of the OpenAPI document, which would list each twice. <c>/config</c> is in
    /// <see cref="MapAdminEndpoints"/>; <c>/metrics</c> answers at both paths already.</summary>
    public static RouteGroupBuilder MapRootAliases(this IEndpointRouteBuilder app)
    {
        var root = app.MapGroup(string.Empty);
        root.MapRootServer();
        root.MapRootVoices();
        root.MapRootSynthesis();
        root.ExcludeFromDescription();
        return root;
    }

    /// <summary>Everything for operators, in one group: <c>/metrics</c> and <c>/api/v1/metrics</c> (unless <c>metrics:public</c>), <c>GET|PUT /api/v1/config</c>, the
    /// Orleans dashboard when on.</summary>
    public static RouteGroupBuilder MapAdminEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // The admin role when auth is on (anyone on loopback when it is off): one line covers every endpoint below.
        var admin = app.MapGroup(string.Empty).RequireAuthorization(SecuritySetup.AdminPolicy);

        // metrics:public (MIT_TTS_METRICS_PUBLIC): /metrics on the HTTP port for anyone, for a scraper that holds no token. The seed
        // lists GET /metrics with the REST API, so it answers under /api/v1 too, the same way.
        var metricsPublic = app.Configuration.GetValue("metrics:public", false);
        foreach (var path in (string[])[MitTtsTelemetry.MetricsPath, MitTtsTelemetry.ApiMetricsPath])
        {
            if (metricsPublic)
            {
                app.MapMitTtsMetrics(app.Configuration, path)?.AllowAnonymous();
            }
            else
            {
                admin.MapMitTtsMetrics(app.Configuration, path);
            }
        }

        // The Prometheus port (MIT_TTS_PROMETHEUS_PORT) is the scrapers' own, kept off public networks: /metrics there needs no token.
        if (MitTtsTelemetry.PrometheusPort(app.Configuration) is { } scrapePort)
        {
            app.MapMitTtsMetrics(app.Configuration)?.RequireHost($"*:{scrapePort.ToString(System.Globalization.CultureInfo.InvariantCulture)}").AllowAnonymous();
        }

        admin.MapGroup("/api/v1").MapConfigApiV1().WithTags("Admin");
        admin.MapGroup(string.Empty).ExcludeFromDescription().MapRootConfig();
        if (OrleansDashboard.Enabled(app.Configuration))
        {
            admin.MapOrleansDashboard(OrleansDashboard.Path);
        }

        return admin;
    }
}
