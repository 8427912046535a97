using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MitTts.Silo.Observability;

namespace MitTts.Silo;

/// <summary>A silo of its own: cluster mode when MIT_TTS_REDIS_URL is set, otherwise the embedded localhost silo (handy to try).
/// With MIT_TTS_PROMETHEUS_PORT it serves its own <c>/metrics</c> there; without it, no HTTP at all.</summary>
/// <remarks>Not top-level statements: those make a global <c>Program</c> type, which the gateway (referencing this assembly) has too,
/// and the OpenAPI document generator then finds two.</remarks>
public static class SiloProcess
{
    public static Task<int> Main(string[] args) => HostRunner.Run(() => Build(args));

    private static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddMitTtsSources(args);
        builder.Configuration.AddCommandLine(args);
        builder.AddMitTtsLogging();
        builder.AddMitTtsTelemetry("mittts-silo");
        var metricsPort = MitTtsTelemetry.PrometheusPort(builder.Configuration);
        if (metricsPort is { } port && MitTtsTelemetry.MetricsEnabled(builder.Configuration))
        {
            var host = builder.Configuration["server:host"] is { Length: > 0 } h ? h : "127.0.0.1";
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                if (host is "0.0.0.0" or "*" or "+")
                {
                    kestrel.ListenAnyIP(port);
                }
                else
                {
                    kestrel.Listen(IPAddress.Parse(host), port);
                }
            });
        }
        else
        {
            builder.Services.AddSingleton<IServer, NoHttpServer>();
        }

        builder.UseOrleans(silo => silo.UseMitTtsSilo(builder.Configuration));
        var app = builder.Build();
        app.MapMitTtsMetrics(builder.Configuration);
        return app;
    }
}
