using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using MitTts.Tests.Api;
using MitTts.Tests.Security;
using MitTts.Tests.Support;

namespace MitTts.Tests.Observability;

/// <summary>With auth on, the admin surfaces (<c>/metrics</c> unless <c>metrics:public</c>, <c>/api/v1/config</c>, readiness's checks) need
/// the admin role, readiness's verdict needs nothing, and the Prometheus port serves <c>/metrics</c> to scrapers without a token.</summary>
public sealed class AdminSurfaceTests
{
    [Fact]
    public async Task Metrics_and_config_need_the_admin_role_but_readiness_and_the_scrape_port_do_not()
    {
        var scrapePort = FreePort.Next();
        await using var gateway = await RunningGateway.Start(SecureGatewayFixture.Settings($"--monitoring:prometheus_port={scrapePort.ToString(CultureInfo.InvariantCulture)}"));
        var client = gateway.Client;

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/config")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/config")).StatusCode);

        var user = (await SecureGatewayFixture.Login(client, "alice-key")).GetProperty("access_token").GetString();
        var admin = (await SecureGatewayFixture.Login(client, "root-key")).GetProperty("access_token").GetString();
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(client, HttpMethod.Get, "/metrics", user)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(client, HttpMethod.Get, "/api/v1/metrics", user)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(client, HttpMethod.Put, "/api/v1/config", user, """{"tts": {"cache_size": 5}}""")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(client, HttpMethod.Put, "/config", user, """{"tts": {"cache_size": 5}}""")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(client, HttpMethod.Get, "/config", user)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Send(client, HttpMethod.Get, "/metrics", admin)).StatusCode);

        // The seed lists GET /metrics with the REST API: under /api/v1 it is the same Prometheus text.
        var underApi = await Send(client, HttpMethod.Get, "/api/v1/metrics", admin);
        Assert.Equal(HttpStatusCode.OK, underApi.StatusCode);
        Assert.StartsWith("text/plain", underApi.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        Assert.Contains("# TYPE ", await underApi.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var changed = await (await Send(client, HttpMethod.Put, "/api/v1/config", admin, """{"tts": {"cache_size": 5}}""")).Json();
        Assert.Equal(5, changed.GetProperty("tts").GetProperty("cache_size").GetInt32());

        using var scraper = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{scrapePort.ToString(CultureInfo.InvariantCulture)}") };
        var metrics = await scraper.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        // Prometheus text; which series it holds is for the process-based metrics tests (in this test process other gateways' meters
        // of the same names come and go).
        Assert.Contains("# TYPE ", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await scraper.GetAsync("/api/v1/config")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await scraper.GetAsync("/config")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await scraper.GetAsync("/status")).StatusCode);
    }

    [Fact]
    public async Task Readiness_tells_anyone_its_verdict_and_only_an_admin_its_checks()
    {
        await using var gateway = await RunningGateway.Start(SecureGatewayFixture.Settings());
        var client = gateway.Client;
        var user = (await SecureGatewayFixture.Login(client, "alice-key")).GetProperty("access_token").GetString();
        var admin = (await SecureGatewayFixture.Login(client, "root-key")).GetProperty("access_token").GetString();

        foreach (var token in new[] { null, user })
        {
            var verdict = await Send(client, HttpMethod.Get, "/api/v1/ready", token);
            Assert.Equal(HttpStatusCode.OK, verdict.StatusCode);
            Assert.Equal("{\"status\":\"ready\"}", await verdict.Content.ReadAsStringAsync());
        }

        var detailed = await (await Send(client, HttpMethod.Get, "/api/v1/ready", admin)).Json();
        Assert.Equal("ready", detailed.GetProperty("status").GetString());
        Assert.Equal("ok", detailed.GetProperty("checks").GetProperty("cluster").GetString());
    }

    [Fact]
    public async Task Metrics_public_opens_metrics_on_the_http_port_to_anyone_and_nothing_else()
    {
        await using var gateway = await RunningGateway.Start(SecureGatewayFixture.Settings("--metrics:public=true"));
        var metrics = await gateway.Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("# TYPE ", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client.GetAsync("/api/v1/config")).StatusCode);
    }

    [Fact]
    public async Task The_orleans_dashboard_is_served_when_asked_for_and_needs_the_admin_role()
    {
        await using var gateway = await RunningGateway.Start(SecureGatewayFixture.Settings("--monitoring:orleans_dashboard=true"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client.GetAsync("/dashboard/")).StatusCode);

        var admin = (await SecureGatewayFixture.Login(gateway.Client, "root-key")).GetProperty("access_token").GetString();
        var page = await Send(gateway.Client, HttpMethod.Get, "/dashboard/", admin);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<title>Orleans Dashboard</title>", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task<HttpResponseMessage> Send(HttpClient client, HttpMethod method, string path, string? token, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        return await client.SendAsync(request);
    }
}
