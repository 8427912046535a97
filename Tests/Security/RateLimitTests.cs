using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MitTts.Tests.Api;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Security;

/// <summary>The seed's rate limits through the real gateway: per user with auth, per address without (loopback exempt by default),
/// a 429 with <c>Retry-After</c> and code <c>rate_limited</c> over REST, an error and then a close (1008) over a WebSocket.</summary>
public sealed class RateLimitTests
{
    [Fact]
    public async Task Synthesize_over_the_budget_gets_429_with_retry_after_and_each_user_has_their_own()
    {
        await using var gateway = await RunningGateway.Start(SecureGatewayFixture.Settings("--security:rate_limits:synthesize=3/minute"));
        using var alice = SecureGatewayFixture.WithToken(gateway.BaseAddress, Tokens.Mint(SecureGatewayFixture.Secret, user: "alice"));
        using var bob = SecureGatewayFixture.WithToken(gateway.BaseAddress, Tokens.Mint(SecureGatewayFixture.Secret, user: "bob"));

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await alice.PostAsJsonAsync("/api/v1/synthesize", new { text = "hola" })).StatusCode);
        }

        var refused = await alice.PostAsJsonAsync("/api/v1/synthesize", new { text = "hola" });
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var body = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("rate_limited", body.GetProperty("code").GetString());
        var retryAfter = refused.Headers.RetryAfter!.Delta!.Value;
        Assert.InRange(retryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        Assert.Equal((int)retryAfter.TotalSeconds, body.GetProperty("retry_after").GetInt32());

        // Other endpoints and other users are not spent by alice's synthesize budget.
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("/api/v1/voices")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await bob.PostAsJsonAsync("/api/v1/synthesize", new { text = "hola" })).StatusCode);
    }

    [Fact]
    public async Task Without_auth_the_budget_is_per_address_and_loopback_is_exempt_unless_configured()
    {
        await using (var exempt = await RunningGateway.Start("--security:rate_limits:synthesize=2/minute"))
        {
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await exempt.Client.PostAsJsonAsync("/api/v1/synthesize", new { text = "hola" })).StatusCode);
            }
        }

        await using var limited = await RunningGateway.Start("--security:rate_limits:synthesize=2/minute", "--security:rate_limits:exempt_loopback=false");
        Assert.Equal(HttpStatusCode.OK, (await limited.Client.PostAsJsonAsync("/api/v1/synthesize", new { text = "hola" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await limited.Client.PostAsJsonAsync("/api/v1/synthesize", new { text = "hola" })).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await limited.Client.PostAsJsonAsync("/api/v1/synthesize", new { text = "hola" })).StatusCode);
    }

    [Fact]
    public async Task WebSocket_messages_over_the_budget_get_an_error_interrupts_still_pass_and_a_flood_closes_the_socket()
    {
        await using var gateway = await RunningGateway.Start(SecureGatewayFixture.Settings(
            "--security:rate_limits:websocket=3/minute", "--security:rate_limits:websocket_refusals_before_close=3"));
        var token = Tokens.Mint(SecureGatewayFixture.Secret, user: "alice");
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress, bearer: token);

        await client.Send(new { type = "connect" });
        Assert.Equal("connected", (await client.Receive())!.Type);
        await client.Send(new { type = "synthesize", text = "uno", format = "pcm", request_id = "r1" });
        await client.Send(new { type = "synthesize", text = "dos", format = "pcm", request_id = "r2" });
        await client.Send(new { type = "synthesize", text = "tres", format = "pcm", request_id = "r3" });
        var refused = await client.ReceiveUntil(m => m.Type == "error");
        Assert.Equal("rate_limited", refused[^1].Str("code"));
        Assert.Equal("r3", refused[^1].Str("request_id"));
        Assert.True(refused[^1].Json!["retry_after"]!.GetValue<double>() >= 1);

        // Barge-in never waits on a budget; nor does a ping.
        await client.Send(new { type = "interrupt", reason = "user_stop" });
        await client.ReceiveUntil(m => m.Type == "interrupted");
        await client.Send(new { type = "ping" });
        await client.ReceiveUntil(m => m.Type == "pong");

        await client.Send(new { type = "synthesize", text = "cuatro", request_id = "r4" });
        await client.Send(new { type = "synthesize", text = "cinco", request_id = "r5" });
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (await client.Receive(deadline - DateTime.UtcNow) is not null)
        {
        }

        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, client.CloseStatus);
    }

    [Fact]
    public async Task A_user_has_a_cap_on_running_tasks_and_gets_room_back_as_they_end()
    {
        await using var gateway = await RunningGateway.Start(SecureGatewayFixture.Settings("--security:rate_limits:max_active_tasks_per_user=2"));
        using var alice = SecureGatewayFixture.WithToken(gateway.BaseAddress, Tokens.Mint(SecureGatewayFixture.Secret, user: "alice"));
        using var bob = SecureGatewayFixture.WithToken(gateway.BaseAddress, Tokens.Mint(SecureGatewayFixture.Secret, user: "bob"));
        var text = string.Join(' ', Enumerable.Repeat("Una frase bastante larga para que la tarea tarde en terminar.", 10));

        var first = await alice.PostAsJsonAsync("/api/v1/synthesize", new { text, format = "pcm" });
        var second = await alice.PostAsJsonAsync("/api/v1/synthesize", new { text, format = "pcm" });
        var third = await alice.PostAsJsonAsync("/api/v1/synthesize", new { text, format = "pcm" });
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.Equal("too_many_active_tasks", (await third.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, (await bob.PostAsJsonAsync("/api/v1/synthesize", new { text = "hola" })).StatusCode);

        foreach (var response in new[] { first, second })
        {
            var taskId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("task_id").GetString();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while ((await alice.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{taskId}")).GetProperty("status").GetString() is "queued" or "processing")
            {
                Assert.True(DateTime.UtcNow < deadline, $"task {taskId} never ended");
                await Task.Delay(50);
            }
        }

        // The end of a task reaches the count one-way: the next request may race it by a moment.
        var again = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        HttpStatusCode status;
        while ((status = (await alice.PostAsJsonAsync("/api/v1/synthesize", new { text = "otra" })).StatusCode) != HttpStatusCode.OK && DateTime.UtcNow < again)
        {
            await Task.Delay(50);
        }

        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task A_user_has_a_cap_on_open_sockets_silent_ones_included()
    {
        await using var gateway = await RunningGateway.Start(SecureGatewayFixture.Settings("--security:rate_limits:max_sockets_per_user=2"));
        var token = Tokens.Mint(SecureGatewayFixture.Secret, user: "alice");

        // A socket that shows its token at the upgrade counts from then on, whether it ever sends anything or not.
        var open = new List<ProtocolClient>();
        for (var i = 0; i < 2; i++)
        {
            open.Add(await ProtocolClient.Connect(gateway.BaseAddress, bearer: token));
        }

        await using (var third = await ProtocolClient.Connect(gateway.BaseAddress, bearer: token))
        {
            var refused = await third.Receive();
            Assert.Equal("too_many_sockets", refused!.Str("code"));
            Assert.Null(await third.Receive());
            Assert.Equal((System.Net.WebSockets.WebSocketCloseStatus)1013, third.CloseStatus);
        }

        // One that authenticates with connect counts from its connect.
        await using (var late = await ProtocolClient.Connect(gateway.BaseAddress))
        {
            await late.Send(new { type = "connect", auth_token = token });
            Assert.Equal("too_many_sockets", (await late.Receive())!.Str("code"));
        }

        // Another user is not counted with alice; and a socket alice closes gives her room again.
        await using var bob = await ProtocolClient.Connect(gateway.BaseAddress, bearer: Tokens.Mint(SecureGatewayFixture.Secret, user: "bob"));
        await bob.Send(new { type = "connect" });
        Assert.Equal("connected", (await bob.Receive())!.Type);

        await open[0].DisposeAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            await using var retry = await ProtocolClient.Connect(gateway.BaseAddress);
            await retry.Send(new { type = "connect", auth_token = token });
            if ((await retry.Receive())!.Type == "connected")
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "the closed socket was never uncounted");
            await Task.Delay(100);
        }

        await open[1].DisposeAsync();
    }

    [Fact]
    public async Task A_socket_over_the_cap_of_active_tasks_hears_too_many_active_tasks()
    {
        await using var gateway = await RunningGateway.Start(SecureGatewayFixture.Settings("--security:rate_limits:max_active_tasks_per_user=1"));
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress, bearer: Tokens.Mint(SecureGatewayFixture.Secret, user: "alice"));
        var text = string.Join(' ', Enumerable.Repeat("Una frase bastante larga para que la tarea tarde en terminar.", 75));

        await client.Send(new { type = "synthesize", text, format = "pcm", request_id = "long" });
        var first = await client.ReceiveUntil(m => m.Str("status") == "queued");
        var taskId = first[^1].Str("task_id")!;
        await client.Send(new { type = "synthesize", text = "hola", format = "pcm", request_id = "second" });
        var refused = await client.ReceiveUntil(m => m.Type == "error" || ProtocolClient.IsEnd(m, taskId));
        Assert.Equal("error", refused[^1].Type);
        Assert.Equal("too_many_active_tasks", refused[^1].Str("code"));
        Assert.Equal("second", refused[^1].Str("request_id"));
    }
}
