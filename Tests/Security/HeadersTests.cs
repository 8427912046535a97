using System.Net;
using MitTts.Tests.Api;

namespace MitTts.Tests.Security;

/// <summary>CORS only for the configured origins; security headers on every answer.</summary>
public sealed class HeadersTests
{
    [Fact]
    public async Task Cors_answers_only_the_configured_origins_and_every_answer_has_the_security_headers()
    {
        await using var gateway = await RunningGateway.Start("--security:cors_origins:0=https://app.example");
        foreach (var (origin, allowed) in new[] { ("https://app.example", true), ("https://evil.example", false) })
        {
            using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/v1/synthesize");
            preflight.Headers.Add("Origin", origin);
            preflight.Headers.Add("Access-Control-Request-Method", "POST");
            preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
            var response = await gateway.Client.SendAsync(preflight);
            var allowOrigin = response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? values.Single() : null;
            Assert.Equal(allowed ? origin : null, allowOrigin);
        }

        // The WebSocket too: a page from a listed origin or from the server's own host connects; one from elsewhere is refused (403).
        foreach (var (origin, allowed) in new[] { ("https://app.example", true), ($"http://127.0.0.1:{gateway.Client.BaseAddress!.Port}", true), ("https://evil.example", false) })
        {
            using var socket = new System.Net.WebSockets.ClientWebSocket();
            socket.Options.SetRequestHeader("Origin", origin);
            socket.Options.CollectHttpResponseDetails = true;
            var uri = new Uri($"ws://127.0.0.1:{gateway.Client.BaseAddress!.Port}/ws");
            if (allowed)
            {
                await socket.ConnectAsync(uri, CancellationToken.None);
                Assert.Equal(System.Net.WebSockets.WebSocketState.Open, socket.State);
            }
            else
            {
                await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => socket.ConnectAsync(uri, CancellationToken.None));
                Assert.Equal(HttpStatusCode.Forbidden, socket.HttpStatusCode);
            }
        }

        var health = await gateway.Client.GetAsync("/api/v1/health");
        Assert.Equal("nosniff", health.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", health.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", health.Headers.GetValues("Referrer-Policy").Single());
        Assert.False(health.Headers.Contains("Server"));

        var notFound = await gateway.Client.GetAsync("/api/v1/tasks/task_does_not_exist");
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        Assert.Equal("nosniff", notFound.Headers.GetValues("X-Content-Type-Options").Single());

        // The playground, where a user pastes a token, must not be framed either.
        foreach (var page in new[] { "/", "/index.html" })
        {
            var playground = await gateway.Client.GetAsync(page);
            Assert.Equal(HttpStatusCode.OK, playground.StatusCode);
            Assert.Equal("DENY", playground.Headers.GetValues("X-Frame-Options").Single());
            Assert.Equal("nosniff", playground.Headers.GetValues("X-Content-Type-Options").Single());
        }
    }

    [Fact]
    public async Task Without_configured_origins_no_cors_headers_are_sent()
    {
        await using var gateway = await RunningGateway.Start();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/health");
        request.Headers.Add("Origin", "https://app.example");
        var response = await gateway.Client.SendAsync(request);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
