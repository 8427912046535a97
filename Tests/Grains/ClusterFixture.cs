using Microsoft.Extensions.Configuration;
using MitTts.Grains;
using MitTts.Silo;
using Orleans.TestingHost;

namespace MitTts.Tests.Grains;

/// <summary>A one-silo test cluster with MitTts's grains, in-memory storage, and short session and result lifetimes.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const double SessionIdleSeconds = 1;
    public const double ResultTtlSeconds = 2;

    public TestCluster Cluster { get; } = new TestClusterBuilder(1)
        .AddSiloBuilderConfigurator<SiloConfigurator>()
        .Build();

    public IGrainFactory Grains => Cluster.GrainFactory;

    public Task InitializeAsync() => Cluster.DeployAsync();

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var configuration = new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["tts:model_path"] = Path.Combine(AppContext.BaseDirectory, "models"),
                    ["tts:result_ttl_seconds"] = ResultTtlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["sessions:idle_timeout_seconds"] = SessionIdleSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
                })
                .Build();
            siloBuilder.AddMitTtsMemoryStorage().AddMitTtsGrains(configuration);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
