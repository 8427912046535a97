using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using MitTts.Gateway.Apis;
using MitTts.Gateway.OpenAi;
using MitTts.Gateway.Security;
using MitTts.Gateway.WebSockets;
using MitTts.Silo;
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
        builder.AddMitTtsKestrel();
        builder.AddMitTtsOrleans();
        builder.AddMitTtsApi();
        builder.AddMitTtsSecurity();

        var app = builder.Build();
        app.UseMitTtsNodeHeader();
        app.UseExceptionHandler();
        app.UseSerilogRequestLogging();
        app.UseMitTtsPlayground();
        app.UseMitTtsSecurity();
        app.MapMitTtsApi();
        app.MapWebSocketApi();
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

    public static void AddMitTtsLogging(this WebApplicationBuilder builder)
    {
        var logging = builder.Configuration.GetSection("logging");
        var level = ParseLevel(logging["level"]);
        var file = logging["file"];
        builder.Services.AddSerilog(log =>
        {
            log.MinimumLevel.Is(level)
                .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
                .MinimumLevel.Override("Orleans", LogEventLevel.Warning)
                .MinimumLevel.Override("Polly", LogEventLevel.Warning)
                .MinimumLevel.Override("StackExchange", LogEventLevel.Warning)
                .Enrich.FromLogContext()
                .WriteTo.Console(formatProvider: System.Globalization.CultureInfo.InvariantCulture);
            if (!string.IsNullOrWhiteSpace(file))
            {
                log.WriteTo.File(file, rollingInterval: RollingInterval.Day, retainedFileCountLimit: 14, formatProvider: System.Globalization.CultureInfo.InvariantCulture);
            }
        });
    }

    /// <summary>The seed's level names (DEBUG, INFO, WARNING, ERROR, CRITICAL) and Serilog's own.</summary>
    public static LogEventLevel ParseLevel(string? level) => level?.Trim().ToUpperInvariant() switch
    {
        "TRACE" or "VERBOSE" => LogEventLevel.Verbose,
        "DEBUG" => LogEventLevel.Debug,
        null or "" or "INFO" or "INFORMATION" => LogEventLevel.Information,
        "WARN" or "WARNING" => LogEventLevel.Warning,
        "ERROR" => LogEventLevel.Error,
        "CRITICAL" or "FATAL" => LogEventLevel.Fatal,
        _ => throw new InvalidOperationException($"Unknown log level '{level}': use DEBUG, INFO, WARNING, ERROR or CRITICAL."),
    };

    public static void AddMitTtsKestrel(this WebApplicationBuilder builder)
    {
        var server = builder.Configuration.GetSection("server");
        var host = server["host"] ?? "127.0.0.1";
        var port = server.GetValue("http_port", DefaultHttpPort);
        var wsPort = server.GetValue("ws_port", DefaultWebSocketPort);
        var connections = new ConnectionCounter();
        builder.Services.AddSingleton(connections);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            kestrel.AddServerHeader = false;
            Action<Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions> configure =
                listen => listen.Use(next => connection => connection is null ? next(connection!) : connections.Track(() => next(connection)));
            Listen(kestrel, host, port, configure);

            // The WebSocket port serves /ws (and the rest, harmlessly); the HTTP port serves /ws too, so one load balancer port suffices.
            if (wsPort != port)
            {
                Listen(kestrel, host, wsPort, configure);
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
        });
        services.AddProblemDetails();
        services.AddExceptionHandler<GatewayExceptionHandler>();
        services.AddSingleton<SynthesisRequestValidator>();
        services.Configure<OpenAiOptions>(builder.Configuration.GetSection(OpenAiOptions.Section));
        services.Configure<WebSocketProtocolOptions>(builder.Configuration.GetSection(WebSocketProtocolOptions.Section));
        services.AddSingleton(builder.Configuration.GetSection(Wyoming.WyomingOptions.Section).Get<Wyoming.WyomingOptions>() ?? new Wyoming.WyomingOptions());
        services.AddSingleton<Wyoming.WyomingServer>();
        services.AddHostedService(sp => sp.GetRequiredService<Wyoming.WyomingServer>());
        services.AddSingleton<ResourceMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<ResourceMonitor>());
        services.AddOpenApi();
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

        app.MapGroup("/api/v1")
            .MapServerApiV1()
            .MapVoicesApiV1()
            .MapSynthesisApiV1()
            .MapAuthApiV1()
            .WithTags("MitTts");

        app.MapGroup("/v1")
            .MapOpenAiApiV1()
            .WithTags("OpenAI-compatible");
    }
}
