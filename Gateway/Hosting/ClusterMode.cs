using MitTts.Grains.Configuration;
using MitTts.Silo;
using MitTts.Silo.Observability;
using Orleans.Dashboard;
using Orleans.Configuration;

namespace MitTts.Gateway.Hosting;

/// <summary>How this gateway reaches the grains: a co-hosted silo (the default) or, in cluster mode, as an Orleans client.</summary>
/// <remarks><c>cluster:gateway_mode</c> (MIT_TTS_GATEWAY_MODE): <c>cohosted</c> (default) runs a silo in this process — the
/// embedded localhost silo without Redis, a member of the Redis cluster with it; <c>client</c> (needs MIT_TTS_REDIS_URL) holds
/// no grains at all, so any number of such gateways sit behind a load balancer.</remarks>
public sealed record GatewayMode(string Name, string Node, string? RedisUrl)
{
    public const string CoHosted = "cohosted";
    public const string Client = "client";

    public bool IsClient => Name == Client;

    /// <summary>The mode as <c>/status</c> reports it: <c>embedded</c>, <c>cluster</c> (co-hosted silo in a cluster) or <c>client</c>.</summary>
    public string Description => IsClient ? Client : RedisUrl is null ? "embedded" : "cluster";

    public static GatewayMode From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var name = configuration["cluster:gateway_mode"]?.Trim().ToLowerInvariant() switch
        {
            null or "" or CoHosted or "embedded" => CoHosted,
            Client => Client,
            var other => throw new InvalidOperationException($"cluster.gateway_mode (MIT_TTS_GATEWAY_MODE) must be '{CoHosted}' or '{Client}', not '{other}'."),
        };
        var redis = ClusterSiloExtensions.IsClusterMode(configuration) ? ClusterSiloExtensions.RedisUrl(configuration) : null;
        if (name == Client && redis is null)
        {
            throw new InvalidOperationException("MIT_TTS_GATEWAY_MODE=client needs MIT_TTS_REDIS_URL: the gateway finds the silos through Redis.");
        }

        var node = configuration["cluster:node"] is { Length: > 0 } n ? n : name == Client ? Environment.MachineName : "local";
        return new GatewayMode(name, node, redis);
    }
}

/// <summary>Wires the gateway to the grains according to its <see cref="GatewayMode"/>.</summary>
public static class ClusterModeExtensions
{
    /// <summary>Response header naming the gateway node that answered, so a load balancer's choices can be seen.</summary>
    public const string NodeHeader = "X-MitTts-Node";

    public static void AddMitTtsOrleans(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        var mode = GatewayMode.From(configuration);
        builder.Services.AddSingleton(mode);
        builder.Services.AddSingleton<ClusterHealth>();

        if (!mode.IsClient)
        {
            builder.UseOrleans(silo => silo.UseMitTtsSilo(configuration));
            return;
        }

        builder.Services.AddSingleton(TimeProvider.System);
        var redis = RedisConnection.Parse(mode.RedisUrl!);
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(options =>
            {
                options.ServiceId = ClusterSiloExtensions.ServiceId;
                options.ClusterId = ClusterSiloExtensions.ClusterId(configuration);
            });
            client.UseRedisClustering(options => options.ConfigurationOptions = redis.Clone());
            client.Services.Configure<Orleans.Serialization.ExceptionSerializationOptions>(
                options => options.SupportedNamespacePrefixes.Add(Grains.SiloBuilderExtensions.RedisExceptionNamespace));
            client.AddActivityPropagation();
            if (OrleansDashboard.Enabled(configuration))
            {
                client.AddDashboard();
            }

            // Learn about silos that came or went within seconds rather than the default minute.
            client.Configure<GatewayOptions>(options => options.GatewayListRefreshPeriod = TimeSpan.FromSeconds(configuration.GetValue("cluster:gateway_list_refresh_seconds", 5.0)));
            // A stateless gateway must come up (and answer 503) while Redis or every silo is down, and connect once they are back.
            client.UseConnectionRetryFilter(async (_, cancellationToken) =>
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                return true;
            });
        });

        // A client gateway has no silo to follow the live configuration for it.
        builder.Services.AddHostedService<LiveConfigWatcher>();

        // Start Kestrel alongside the Orleans client instead of after it, so /health answers while the cluster is away.
        builder.Services.Configure<HostOptions>(options => options.ServicesStartConcurrently = true);
    }

    /// <summary>Adds the <see cref="NodeHeader"/> to every response.</summary>
    public static void UseMitTtsNodeHeader(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var node = app.Services.GetRequiredService<GatewayMode>().Node;
        // As the response starts: an error answered by the exception handler starts from cleared headers.
        app.Use((context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                context.Response.Headers[NodeHeader] = node;
                return Task.CompletedTask;
            });
            return next(context);
        });
    }
}
