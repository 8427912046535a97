using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MitTts.Gateway.Security;
using MitTts.Tests.Api;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Security;

/// <summary><c>auth.user_max_priority</c>: a user token asks for priorities up to the limit, an admin for any (the seed keeps CRITICAL
/// for interruptions and HIGH for premium users), on every way in.</summary>
public sealed class PriorityLimitTests : IAsyncLifetime
{
    private RunningGateway? _gateway;

    private Uri BaseAddress => _gateway!.BaseAddress;

    public async Task InitializeAsync() => _gateway = await RunningGateway.Start(SecureGatewayFixture.Settings("--auth:user_max_priority=high"));

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

    [Theory]
    [InlineData("urgent")]
    [InlineData("2")]
    [InlineData("")]
    public void A_limit_that_is_no_priority_stops_the_start(string limit)
    {
        var options = new AuthOptions { JwtSecret = SecureGatewayFixture.Secret, UserMaxPriority = limit };

        var error = Assert.Throws<InvalidOperationException>(options.Validate);
        Assert.Contains("auth.user_max_priority", error.Message, StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }
    }
}
