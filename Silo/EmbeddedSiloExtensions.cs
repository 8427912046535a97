using Orleans.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MitTts.Grains;
using MitTts.Grains.Synthesis;

namespace MitTts.Silo;

/// <summary>The one-process setup: a localhost silo with in-memory storage and reminders, for a laptop or a single node.</summary>
public static class EmbeddedSiloExtensions
{
    public const int DefaultSiloPort = 11111;
    public const int DefaultGatewayPort = 30000;

    public static ISiloBuilder UseMitTtsEmbeddedSilo(this ISiloBuilder silo, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var cluster = configuration.GetSection("cluster");
        silo.UseLocalhostClustering(
            cluster.GetValue("silo_port", DefaultSiloPort),
            cluster.GetValue("gateway_port", DefaultGatewayPort),
            serviceId: "mittts",
            clusterId: "mittts-embedded");
        silo.AddMitTtsMemoryStorage();

        // One process is one node; its name is the first part of its synthesizer keys.
        silo.Configure<SiloOptions>(options => options.SiloName = cluster["node"] ?? "local");

        // In-memory storage dies with this process, so there is no survivor to re-dispatch from a ledger.
        silo.Services.PostConfigure<SynthesisQueueOptions>(options => options.FailoverLedger = false);
        return silo.AddMitTtsGrains(configuration);
    }

    /// <summary>In-memory grain storage for every provider the grains use, and in-memory reminders.</summary>
    public static ISiloBuilder AddMitTtsMemoryStorage(this ISiloBuilder silo)
    {
        silo.AddMemoryGrainStorage(StorageNames.Tasks);
        silo.AddMemoryGrainStorage(StorageNames.Sessions);
        silo.AddMemoryGrainStorage(StorageNames.Ledgers);
        silo.AddMemoryGrainStorage(StorageNames.Config);
        silo.AddMemoryGrainStorage(StorageNames.Auth);
        silo.UseInMemoryReminderService();
        return silo;
    }
}
