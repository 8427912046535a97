using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MitTts.Gateway.Security;
using MitTts.Silo;
using MitTts.Tests.Api;

namespace MitTts.Tests.Security;

/// <summary>The edges around auth: the client address behind a proxy, issuer and audience, the token endpoint's own budget, a refresh
/// after its key was removed, the health budget, who an unauthenticated caller is, and the API key list's syntax.</summary>
public sealed class HardeningTests
{
    private const string Secret = SecureGatewayFixture.Secret;

    [Fact]
    public async Task Behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget_and_an_untrusted_one_is_not_believed()
    {
        string[] limited = ["--security:rate_limits:synthesize=1/minute", "--security:rate_limits:exempt_loopback=false"];
        await using (var trusting = await RunningGateway.Start([.. limited, "--security:forwarded:known_proxies:0=127.0.0.1"]))
        {
            Assert.Equal(HttpStatusCode.OK, await Synthesize(trusting.Client, "203.0.113.1"));
            Assert.Equal(HttpStatusCode.TooManyRequests, await Synthesize(trusting.Client, "203.0.113.1"));
            Assert.Equal(HttpStatusCode.OK, await Synthesize(trusting.Client, "203.0.113.2"));

            // A client's own X-Forwarded-For goes first; the proxy appends the address it saw, which is the one believed.
            Assert.Equal(HttpStatusCode.TooManyRequests, await Synthesize(trusting.Client, "198.51.100.7, 203.0.113.1"));
        }

        await using var untrusting = await RunningGateway.Start(limited);
        Assert.Equal(HttpStatusCode.OK, await Synthesize(untrusting.Client, "203.0.113.1"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await Synthesize(untrusting.Client, "203.0.113.2"));
    }

    private static AuthOptions Options(string apiKeys) =>
        AuthOptions.From(new ConfigurationBuilder().AddMitTtsSources([], new Dictionary<string, string?> { ["MIT_TTS_API_KEYS"] = apiKeys }).Build());

    private static DefaultHttpContext Request(AuthOptions auth) =>
        new() { RequestServices = new ServiceCollection().AddSingleton(auth).BuildServiceProvider() };

    private static Dictionary<string, object> Claims(string issuer, string audience) => new() { ["iss"] = issuer, ["aud"] = audience };

    private static async Task<HttpStatusCode> Synthesize(HttpClient client, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/synthesize") { Content = JsonContent.Create(new { text = "hola" }) };
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        return (await client.SendAsync(request)).StatusCode;
    }

    private static async Task<HttpStatusCode> Voices(RunningGateway gateway, string token)
    {
        using var client = SecureGatewayFixture.WithToken(gateway.BaseAddress, token);
        return (await client.GetAsync("/api/v1/voices")).StatusCode;
    }
}
