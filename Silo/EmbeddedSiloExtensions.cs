using Orleans.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MitTts.Grains;
using MitTts.Grains.Synthesis;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;

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

    /// <summary>In-process grain storage for every provider the grains use, and in-memory reminders.</summary>
    public static ISiloBuilder AddMitTtsMemoryStorage(this ISiloBuilder silo)
    {
        foreach (var name in (string[])[StorageNames.Tasks, StorageNames.Sessions, StorageNames.Ledgers, StorageNames.Config, StorageNames.Auth])
        {
            silo.Services.AddGrainStorage(name, static (services, _) => new InProcessGrainStorage(services.GetRequiredService<DeepCopier>()));
        }

        silo.UseInMemoryReminderService();
        return silo;
    }
}
