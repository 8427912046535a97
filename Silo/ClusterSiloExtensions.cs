using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MitTts.Grains;
using MitTts.Grains.Configuration;
using MitTts.Grains.Results;
using MitTts.Grains.Synthesis;
using MitTts.Silo.Observability;
using Orleans.Dashboard;
using Orleans.Configuration;
using Orleans.Storage;

namespace MitTts.Silo;

/// <summary>Cluster mode: silos that find each other through Redis and keep grain state and reminders there.</summary>
public static class ClusterSiloExtensions
{
    /// <summary>Orleans service id shared by every silo and client of a MitTts deployment.</summary>
    public const string ServiceId = "mittts";

    /// <summary>The default cluster id (<c>cluster:id</c>, MIT_TTS_CLUSTER_ID); silos and clients with the same id form one cluster.</summary>
    public const string DefaultClusterId = "mittts";

    /// <summary>Whether <paramref name="configuration"/> names a Redis server (<c>redis:url</c>, MIT_TTS_REDIS_URL), i.e. cluster mode.</summary>
    public static bool IsClusterMode(IConfiguration configuration) => !string.IsNullOrWhiteSpace(RedisUrl(configuration));

    public static string? RedisUrl(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration["redis:url"];
    }

    public static string ClusterId(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration["cluster:id"] is { Length: > 0 } id ? id : DefaultClusterId;
    }

    /// <summary>Cluster mode when a Redis URL is configured, the embedded localhost silo otherwise; either follows the live configuration.</summary>
    public static ISiloBuilder UseMitTtsSilo(this ISiloBuilder silo, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.Services.AddHostedService<LiveConfigWatcher>();
        if (OrleansDashboard.Enabled(configuration))
        {
            silo.AddDashboard();
        }

        return IsClusterMode(configuration) ? silo.UseMitTtsClusterSilo(configuration) : silo.UseMitTtsEmbeddedSilo(configuration);
    }

    /// <summary>A silo of a Redis-backed cluster: membership, grain storage and reminders in Redis; ports, name and devices from configuration.</summary>
    public static ISiloBuilder UseMitTtsClusterSilo(this ISiloBuilder silo, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(silo);
        var url = RedisUrl(configuration) ?? throw new InvalidOperationException("Cluster mode needs redis.url (MIT_TTS_REDIS_URL).");
        var redis = RedisConnection.Parse(url);
        var cluster = configuration.GetSection("cluster");

        silo.Configure<ClusterOptions>(options =>
        {
            options.ServiceId = ServiceId;
            options.ClusterId = ClusterId(configuration);
        });
        silo.UseRedisClustering(options => options.ConfigurationOptions = redis.Clone());
        silo.ConfigureEndpoints(
            AdvertisedAddress(cluster["advertised_ip"]),
            cluster.GetValue("silo_port", EmbeddedSiloExtensions.DefaultSiloPort),
            cluster.GetValue("gateway_port", EmbeddedSiloExtensions.DefaultGatewayPort),
            listenOnAnyHostAddress: cluster.GetValue("listen_on_any", false));
        silo.Configure<SiloOptions>(options => options.SiloName = cluster["node"] is { Length: > 0 } node ? node : Dns.GetHostName());
        silo.Configure<ClusterMembershipOptions>(options => ConfigureMembership(options, cluster));

        // Unfinished tasks live at most as long as the result TTL plus slack, sessions as long as their idle timeout: Redis forgets
        // them even if no one ever ends them. Finished results are the result store's (RedisResultStore), with shorter TTLs.
        var tts = configuration.GetSection(TtsOptions.Section).Get<TtsOptions>() ?? new TtsOptions();
        var sessions = configuration.GetSection(SessionOptions.Section).Get<SessionOptions>() ?? new SessionOptions();
        AddStorage(silo, StorageNames.Tasks, redis, TimeSpan.FromSeconds(tts.ResultTtlSeconds) + TimeSpan.FromHours(1));
        var results = redis.Clone();
        results.AllowAdmin = true; // INFO, for the store's figures on /status
        // Written behind: a result Redis cannot take at once (it is down) is held in the silo and written when it is back.
        silo.Services.AddSingleton<IResultStore>(services => new WriteBehindResultStore(
            new RedisResultStore(results, "mittts:" + ClusterId(configuration), services.GetRequiredService<Orleans.Serialization.Serializer>(), TimeProvider.System),
            tts.ResultStorePendingBytes,
            TimeProvider.System,
            services.GetRequiredService<Microsoft.Extensions.Logging.ILogger<WriteBehindResultStore>>()));
        AddStorage(silo, StorageNames.Sessions, redis, TimeSpan.FromSeconds(sessions.IdleTimeoutSeconds * 2) + TimeSpan.FromHours(1));
        AddStorage(silo, StorageNames.Ledgers, redis, expiry: null);
        silo.Services.AddSingleton<IJobLedgerStore>(_ => new RedisJobLedgerStore(redis.Clone(), "mittts:" + ClusterId(configuration)));
        AddStorage(silo, StorageNames.Config, redis, expiry: null);
        AddStorage(silo, StorageNames.Auth, redis, TimeSpan.FromDays(configuration.GetValue("auth:refresh_token_days", 7.0)) + TimeSpan.FromHours(1));
        silo.UseRedisReminderService(options => options.ConfigurationOptions = redis.Clone());

        // Storage outlives any one silo here, so a survivor can re-dispatch a dead silo's queued tasks from its ledger.
        silo.Services.PostConfigure<SynthesisQueueOptions>(options => options.FailoverLedger = configuration.GetValue("scheduling:failover_ledger", true));
        return silo.AddMitTtsGrains(configuration);
    }

    private static void AddStorage(ISiloBuilder silo, string name, StackExchange.Redis.ConfigurationOptions redis, TimeSpan? expiry) =>
        silo.AddRedisGrainStorage(name, optionsBuilder => optionsBuilder.Configure<IServiceProvider>((options, services) =>
        {
            options.ConfigurationOptions = redis.Clone();
            options.EntryExpiry = expiry;
            // A cleared state is a deleted key. Kept (the provider's default), every ended task left a ~300-byte record in Redis for
            // the result TTL plus an hour: the soak's Redis grew by them for the whole run.
            options.DeleteStateOnClear = true;
            // The grains' state records are [GenerateSerializer] types: store them with Orleans' own serializer.
            options.GrainStorageSerializer = new OrleansGrainStorageSerializer(services.GetRequiredService<Orleans.Serialization.Serializer>());
        }));

    /// <summary>Probe settings: the defaults take about a minute to declare a killed silo dead; these defaults take a few seconds.</summary>
    private static void ConfigureMembership(ClusterMembershipOptions options, IConfigurationSection cluster)
    {
        options.ProbeTimeout = TimeSpan.FromSeconds(cluster.GetValue("probe_timeout_seconds", 2.0));
        options.NumMissedProbesLimit = cluster.GetValue("missed_probes_limit", 2);
        options.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(cluster.GetValue("i_am_alive_seconds", 10.0));
        options.TableRefreshTimeout = TimeSpan.FromSeconds(cluster.GetValue("table_refresh_seconds", 5.0));
        options.DeathVoteExpirationTimeout = TimeSpan.FromSeconds(cluster.GetValue("death_vote_expiration_seconds", 30.0));
    }

    private static IPAddress AdvertisedAddress(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            if (IPAddress.TryParse(configured, out var address))
            {
                return address;
            }

            return Dns.GetHostAddresses(configured).First(a => a.AddressFamily == AddressFamily.InterNetwork);
        }

        // In a container or pod the first non-loopback IPv4 address is the one peers can reach.
        return Dns.GetHostAddresses(Dns.GetHostName()).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            ?? IPAddress.Loopback;
    }
}
