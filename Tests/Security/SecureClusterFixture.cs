using MitTts.Tests.Cluster;

namespace MitTts.Tests.Security;

/// <summary>The real cluster (Redis, two silos, two gateways, nginx) with auth on and a small synthesize budget, for limits that must
/// hold across gateways.</summary>
public sealed class SecureClusterFixture : RealClusterFixture
{
    public const int SynthesizePerMinute = 6;

    private readonly string _token = Tokens.Mint(SecureGatewayFixture.Secret, user: "fixture", role: "admin", lifetime: TimeSpan.FromHours(2));

    protected override IReadOnlyDictionary<string, string> GatewaySettings { get; } = new Dictionary<string, string>
    {
        ["MIT_TTS_JWT_SECRET"] = SecureGatewayFixture.Secret,
        ["MIT_TTS_RATE_LIMIT_SYNTHESIZE"] = $"{SynthesizePerMinute}/minute",
    };

    protected override string? FixtureToken => _token;
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SecureClusterCollection : ICollectionFixture<SecureClusterFixture>
{
    public const string Name = "secure cluster";
}
