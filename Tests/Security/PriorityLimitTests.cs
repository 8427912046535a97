using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MitTts.Gateway.Security;
using MitTts.Tests.Api;
using MitTts.Tests.Observability;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Security;

/// <summary><c>auth.user_max_priority</c> and <c>auth.premium_max_priority</c>: a user or premium token asks for priorities up to its
/// role's limit, an admin for any (the seed keeps CRITICAL for interruptions and HIGH for premium users), on every way in; a premium
/// token's requests are HIGH unless they say otherwise.</summary>
public sealed class PriorityLimitTests : IAsyncLifetime
{
    private RunningGateway? _gateway;

    private Uri BaseAddress => _gateway!.BaseAddress;

    public async Task InitializeAsync() => _gateway = await RunningGateway.Start(SecureGatewayFixture.Settings(
        "--auth:user_max_priority=high", "--auth:premium_max_priority=high",
        "--auth:api_keys:3:user=paula", "--auth:api_keys:3:role=premium", $"--auth:api_keys:3:sha256={SecureGatewayFixture.Sha256("paula-key")}"));

    private static async Task<string> QueuedPriority(HttpClient client, object body)
    {
        var task = await (await client.Synthesize(body)).Json();
        var taskId = task.GetProperty("task_id").GetString();
        return (await (await client.GetAsync($"/api/v1/tasks/{taskId}")).Json()).GetProperty("priority").GetString()!;
    }

    [Fact]
    public async Task A_premium_token_is_queued_high_unless_it_asks_otherwise_and_asks_up_to_its_limit()
    {
        // Its API key's role travels in the tokens /auth/token gives.
        var pair = await SecureGatewayFixture.Login(_gateway!.Client, "paula-key");
        using var premium = SecureGatewayFixture.WithToken(BaseAddress, pair.GetProperty("access_token").GetString()!);
        using var user = SecureGatewayFixture.WithToken(BaseAddress, Tokens.Mint(SecureGatewayFixture.Secret, "alice"));
        using var admin = SecureGatewayFixture.WithToken(BaseAddress, Tokens.Mint(SecureGatewayFixture.Secret, "root", "admin"));

        Assert.Equal("high", await QueuedPriority(premium, new { text = "Hola." }));
        Assert.Equal("normal", await QueuedPriority(premium, new { text = "Hola.", priority = "normal" }));
        Assert.Equal("normal", await QueuedPriority(user, new { text = "Hola." }));
        Assert.Equal("normal", await QueuedPriority(admin, new { text = "Hola." }));

        var refused = await (await premium.Synthesize(new { text = "Hola.", priority = "critical" })).AssertProblem(HttpStatusCode.Forbidden, "priority_not_allowed", "priority");
        Assert.Contains("a premium may ask up to high", refused.GetProperty("message").GetString(), StringComparison.Ordinal);

        // A token minted elsewhere with the role is premium too; a role the server does not know is refused.
        using var minted = SecureGatewayFixture.WithToken(BaseAddress, Tokens.Mint(SecureGatewayFixture.Secret, "pat", "premium"));
        Assert.Equal("high", await QueuedPriority(minted, new { text = "Hola." }));
        using var unknown = SecureGatewayFixture.WithToken(BaseAddress, Tokens.Mint(SecureGatewayFixture.Secret, "pat", "gold"));
        await (await unknown.Synthesize(new { text = "Hola." })).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
    }

    [Fact]
    public async Task A_user_asks_up_to_the_limit_over_rest_and_an_admin_for_any()
    {
        using var user = SecureGatewayFixture.WithToken(BaseAddress, Tokens.Mint(SecureGatewayFixture.Secret, "alice"));
        using var admin = SecureGatewayFixture.WithToken(BaseAddress, Tokens.Mint(SecureGatewayFixture.Secret, "root", "admin"));

        Assert.Equal(HttpStatusCode.OK, (await user.Synthesize(new { text = "Hola.", priority = "high" })).StatusCode);
        await (await user.Synthesize(new { text = "Hola.", priority = "critical" })).AssertProblem(HttpStatusCode.Forbidden, "priority_not_allowed", "priority");
        Assert.Equal(HttpStatusCode.OK, (await admin.Synthesize(new { text = "Hola.", priority = "critical" })).StatusCode);

        // OpenAI's endpoint takes its priority from a header, and says no in OpenAI's error shape.
        using var speech = new HttpRequestMessage(HttpMethod.Post, "/v1/audio/speech")
        {
            Content = JsonContent.Create(new { model = "tts-1", input = "Hola.", voice = "alloy" }),
        };
        speech.Headers.Add("X-MitTts-Priority", "critical");
        using var refused = await user.SendAsync(speech);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        var error = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("priority_not_allowed", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_user_socket_is_refused_a_priority_over_the_limit_and_keeps_serving()
    {
        await using var client = await ProtocolClient.Connect(BaseAddress, bearer: Tokens.Mint(SecureGatewayFixture.Secret, "alice"));
        await client.Send(new { type = "synthesize", text = "Hola.", priority = "critical", request_id = "r1" });
        var refused = (await client.ReceiveUntil(m => m.Type == "error"))[^1];
        Assert.Equal("priority_not_allowed", refused.Str("code"));
        Assert.Equal("priority", refused.Str("field"));
        Assert.Equal("r1", refused.Str("request_id"));

        await client.Send(new { type = "text", context_id = "c", text = "Hola. ", priority = "critical" });
        Assert.Equal("priority_not_allowed", (await client.ReceiveUntil(m => m.Type == "error"))[^1].Str("code"));

        // The socket's default (high) is within the limit.
        await client.Send(new { type = "synthesize", text = "Hola.", format = "pcm" });
        var queued = (await client.ReceiveUntil(m => m.Str("status") == "queued" || m.Type == "error"))[^1];
        var taskId = queued.Str("task_id")!;
        Assert.Equal("completed", (await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId)))[^1].Str("status"));
    }

    [Fact]
    public async Task A_premium_openai_request_without_the_priority_header_is_queued_high()
    {
        // A server process of its own: its scheduler metrics count this test's jobs alone (the cache is off, so each request is a job).
        await using var server = await GatewayProcess.Start(new Dictionary<string, string>
        {
            ["MIT_TTS_JWT_SECRET"] = SecureGatewayFixture.Secret,
            ["MIT_TTS_CACHE_SIZE"] = "0",
        });
        using var metrics = new HttpClient { BaseAddress = server.MetricsAddress };
        using var premium = SecureGatewayFixture.WithToken(server.Address, Tokens.Mint(SecureGatewayFixture.Secret, "paula", "premium"));
        using var user = SecureGatewayFixture.WithToken(server.Address, Tokens.Mint(SecureGatewayFixture.Secret, "alice"));

        async Task<(double High, double Normal)> Jobs()
        {
            var text = await metrics.GetStringAsync("/metrics");
            return (PrometheusText.Sum(text, "mittts_scheduler_wait_time_seconds_count", "priority=\"high\"") ?? 0,
                PrometheusText.Sum(text, "mittts_scheduler_wait_time_seconds_count", "priority=\"normal\"") ?? 0);
        }

        async Task Speak(HttpClient client, string input)
        {
            using var response = await client.PostAsJsonAsync("/v1/audio/speech", new { model = "tts-1", input, voice = "alloy", response_format = "wav" });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.NotEmpty(await response.Content.ReadAsByteArrayAsync());
        }

        var before = await Jobs();
        await Speak(premium, "Premium first.");
        Assert.Equal((before.High + 1, before.Normal), await Jobs());
        await Speak(user, "Standard second.");
        Assert.Equal((before.High + 1, before.Normal + 1), await Jobs());
    }

    [Theory]
    [InlineData("urgent")]
    [InlineData("2")]
    [InlineData("")]
    public void A_limit_that_is_no_priority_stops_the_start(string limit)
    {
        var error = Assert.Throws<InvalidOperationException>(new AuthOptions { JwtSecret = SecureGatewayFixture.Secret, UserMaxPriority = limit }.Validate);
        Assert.Contains("auth.user_max_priority", error.Message, StringComparison.Ordinal);

        error = Assert.Throws<InvalidOperationException>(new AuthOptions { JwtSecret = SecureGatewayFixture.Secret, PremiumMaxPriority = limit }.Validate);
        Assert.Contains("auth.premium_max_priority", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void By_default_a_premium_token_may_ask_for_any_priority_and_an_api_key_may_be_premium()
    {
        var options = new AuthOptions { JwtSecret = SecureGatewayFixture.Secret };
        options.ApiKeys.Add(new ApiKeyEntry { User = "paula", Role = Roles.Premium, Sha256 = SecureGatewayFixture.Sha256("paula-key") });

        options.Validate();
        Assert.Equal(MitTts.Grains.Interfaces.Priority.Critical, options.PremiumPriorityLimit);
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }
    }
}
