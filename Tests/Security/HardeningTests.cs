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

    [Fact]
    public async Task With_an_issuer_and_audience_set_only_tokens_that_name_both_are_taken()
    {
        await using var gateway = await RunningGateway.Start(SecureGatewayFixture.Settings("--auth:issuer=mittts", "--auth:audience=agents"));
        var own = (await SecureGatewayFixture.Login(gateway.Client, "alice-key")).GetProperty("access_token").GetString()!;
        Assert.Equal(HttpStatusCode.OK, await Voices(gateway, own));
        Assert.Equal(HttpStatusCode.OK, await Voices(gateway, Tokens.Mint(Secret, extra: Claims("mittts", "agents"))));

        foreach (var (what, token) in new[]
        {
            ("neither", Tokens.Mint(Secret)),
            ("no audience", Tokens.Mint(Secret, extra: new Dictionary<string, object> { ["iss"] = "mittts" })),
            ("no issuer", Tokens.Mint(Secret, extra: new Dictionary<string, object> { ["aud"] = "agents" })),
            ("wrong issuer", Tokens.Mint(Secret, extra: Claims("someone-else", "agents"))),
            ("wrong audience", Tokens.Mint(Secret, extra: Claims("mittts", "billing"))),
        })
        {
            Assert.True(await Voices(gateway, token) == HttpStatusCode.Unauthorized, what);
        }
    }

    [Fact]
    public async Task The_token_endpoint_has_a_budget_per_address_so_keys_cannot_be_guessed_at_speed()
    {
        await using var gateway = await RunningGateway.Start(SecureGatewayFixture.Settings("--security:rate_limits:auth=3/minute"));
        for (var i = 0; i < 3; i++)
        {
            var wrong = await gateway.Client.PostAsJsonAsync("/api/v1/auth/token", new { api_key = "guess-" + i });
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        // Over the budget even the right key waits: the limit is on attempts, not on failures.
        var refused = await gateway.Client.PostAsJsonAsync("/api/v1/auth/token", new { api_key = "alice-key" });
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("rate_limited", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        Assert.NotNull(refused.Headers.RetryAfter);
    }

    [Fact]
    public async Task Wrong_api_keys_on_v1_spend_the_same_budget_so_keys_cannot_be_guessed_there_either()
    {
        await using var gateway = await RunningGateway.Start(SecureGatewayFixture.Settings("--security:rate_limits:auth=3/minute"));
        var token = (await SecureGatewayFixture.Login(gateway.Client, "alice-key")).GetProperty("access_token").GetString()!;

        async Task<HttpResponseMessage> Models(string bearer)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
            return await gateway.Client.SendAsync(request);
        }

        // The login spent one attempt of three: two wrong keys are told they are wrong, the third is told to wait.
        Assert.Equal(HttpStatusCode.Unauthorized, (await Models("guess-1")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Models("guess-2")).StatusCode);
        var third = await Models("guess-3");
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.Equal("rate_limit_exceeded", (await third.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
        Assert.NotNull(third.Headers.RetryAfter);

        // Locked out, even the right key waits (a guess that happens to be right must not get through); an access token does not.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await Models("alice-key")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Models(token)).StatusCode);
    }

    [Fact]
    public async Task A_refresh_after_the_users_key_was_removed_is_refused()
    {
        await using var gateway = await RunningGateway.Start(SecureGatewayFixture.Settings());
        var alice = (await SecureGatewayFixture.Login(gateway.Client, "alice-key")).GetProperty("refresh_token").GetString();
        var bob = (await SecureGatewayFixture.Login(gateway.Client, "bob-key")).GetProperty("refresh_token").GetString();

        // The same cluster and secret, configured without alice's key (as a gateway restarted without it would be).
        var withoutAlice = new AuthOptions { JwtSecret = Secret, ApiKeys = [new ApiKeyEntry { User = "bob", Sha256 = SecureGatewayFixture.Sha256("bob-key") }] };
        var tokens = new TokenService(withoutAlice, gateway.Services.GetRequiredService<IGrainFactory>(), TimeProvider.System);
        Assert.Null(await tokens.Refresh(alice));
        Assert.NotNull(await tokens.Refresh(bob));
    }

    [Fact]
    public async Task Health_over_its_budget_gets_429_with_retry_after()
    {
        await using var gateway = await RunningGateway.Start("--security:rate_limits:health=2/minute", "--security:rate_limits:exempt_loopback=false");
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/api/v1/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/api/v1/health")).StatusCode);
        var refused = await gateway.Client.GetAsync("/api/v1/health");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
    }

    [Fact]
    public void With_auth_on_a_caller_without_a_token_sees_nothing_and_with_auth_off_everything()
    {
        Assert.Equal(Caller.Nobody, Caller.From(Request(new AuthOptions { JwtSecret = Secret })));
        Assert.False(Caller.Nobody.CanSee(null));
        Assert.False(Caller.Nobody.CanSee("alice"));

        var anonymous = Caller.From(Request(new AuthOptions()));
        Assert.True(anonymous.CanSee("alice"));
        Assert.True(anonymous.IsAdmin);
    }

    [Fact]
    public void The_api_key_variable_takes_user_role_sha256_entries_and_names_what_is_wrong_with_a_bad_one()
    {
        var alice = SecureGatewayFixture.Sha256("alice-key");
        var root = SecureGatewayFixture.Sha256("root-key");
        var keys = Options($"alice:user:{alice}, root:admin:{root}").ApiKeys;
        Assert.Equal(new (string?, string, string?)[] { ("alice", "user", alice), ("root", "admin", root) }, keys.Select(k => (k.User, k.Role, k.Sha256)));

        foreach (var (bad, says) in new[]
        {
            ($"alice:{alice}", "user:role:sha256"),
            ($"alice:user:{alice}:extra", "user:role:sha256"),
            ($"alice:boss:{alice}", "role of user 'alice'"),
            ("alice:user:abc123", "64 hex digits"),
            ($":user:{alice}", "needs a user"),
        })
        {
            var error = Assert.Throws<InvalidOperationException>(() => Options(bad).Validate());
            Assert.Contains(says, error.Message, StringComparison.Ordinal);
        }
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
