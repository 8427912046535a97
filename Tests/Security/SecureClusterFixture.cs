using MitTts.Tests.Cluster;

namespace MitTts.Tests.Security;

/// <summary>The real cluster (Redis, two silos, two gateways, nginx) with auth on, API keys for alice (user) and root (admin), a small
/// synthesize budget and a cap of two sockets per user, for limits and revocations that must hold across gateways.</summary>
public sealed class SecureClusterFixture : RealClusterFixture
{
    public const int SynthesizePerMinute = 6;

    public const int SocketsPerUser = 2;

    private readonly string _token = Tokens.Mint(SecureGatewayFixture.Secret, user: "fixture", role: "admin", lifetime: TimeSpan.FromHours(2));

    protected override IReadOnlyDictionary<string, string> GatewaySettings { get; } = new Dictionary<string, string>
    {
        ["MIT_TTS_JWT_SECRET"] = SecureGatewayFixture.Secret,
        ["MIT_TTS_RATE_LIMIT_SYNTHESIZE"] = $"{SynthesizePerMinute}/minute",
        ["security__rate_limits__max_sockets_per_user"] = $"{SocketsPerUser}",
        ["MIT_TTS_API_KEYS"] = $"alice:user:{SecureGatewayFixture.Sha256("alice-key")},root:admin:{SecureGatewayFixture.Sha256("root-key")}",
    };

    protected override string? FixtureToken => _token;
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SecureClusterCollection : ICollectionFixture<SecureClusterFixture>
{
    public const string Name = "secure cluster";
}
