using MitTts.Gateway.Hosting;

namespace MitTts.Tests.Security;

/// <summary>Settings that would leave the server open or its tokens weak stop it from starting, with a message naming the setting.</summary>
public sealed class AuthStartupTests
{
    [Theory]
    [InlineData("security.jwt_secret", "--security:jwt_secret=short-secret")]
    [InlineData("MIT_TTS_JWT_SECRET", "--server:host=0.0.0.0")]
    [InlineData("MIT_TTS_JWT_SECRET", "--server:host=192.0.2.10")]
    [InlineData("auth.api_keys", "--security:jwt_secret=test-secret-of-at-least-thirty-two-bytes!", "--auth:api_keys:0:user=eve", "--auth:api_keys:0:sha256=abc")]
    [InlineData("role", "--security:jwt_secret=test-secret-of-at-least-thirty-two-bytes!", "--auth:api_keys:0:user=eve", "--auth:api_keys:0:role=root",
        "--auth:api_keys:0:sha256=2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae")]
    [InlineData("security.rate_limits.synthesize", "--security:rate_limits:synthesize=100/fortnight")]
    public void Refuses_to_start(string named, params string[] args)
    {
        var error = Assert.Throws<InvalidOperationException>(() => GatewayApplication.Create(args));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--server:host=0.0.0.0", "--auth:disabled=true")]
    [InlineData("--server:host=0.0.0.0", "--security:jwt_secret=test-secret-of-at-least-thirty-two-bytes!")]
    [InlineData("--server:host=localhost")]
    [InlineData("--server:host=::1")]
    public async Task Builds_when_safe(params string[] args)
    {
        await using var app = GatewayApplication.Create(args);
        Assert.NotNull(app);
    }
}
