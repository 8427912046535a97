using System.Net;
using System.Text.Json;
using MitTts.Tests.Api;

namespace MitTts.Tests.Observability;

/// <summary><c>GET /api/v1/ready</c> as a load balancer reads it: 503 <c>unready</c> naming the check that failed (engines, disk,
/// memory), while <c>/health</c> (liveness) still answers 200.</summary>
public sealed class ReadinessTests
{
    [Fact]
    public async Task A_gateway_with_room_and_a_voice_is_ready()
    {
        await using var gateway = await RunningGateway.Start();
        var ready = await (await gateway.Client.GetAsync("/api/v1/ready")).Json();
        Assert.Equal("ready", ready.GetProperty("status").GetString());
        foreach (var check in new[] { "cluster", "engines", "disk", "memory" })
        {
            Assert.Equal("ok", ready.GetProperty("checks").GetProperty(check).GetString());
        }
    }

    [Theory]
    [InlineData("disk", "low: ", "--monitoring:ready_min_free_disk_mb=1000000000000")]
    [InlineData("memory", "high: ", "--monitoring:ready_max_memory_percent=0")]
    public async Task Too_little_free_disk_or_too_much_memory_in_use_is_unready_naming_the_check(string check, string verdict, string setting)
    {
        await using var gateway = await RunningGateway.Start(setting);
        var checks = await UnreadyChecks(gateway);
        Assert.StartsWith(verdict, checks.GetProperty(check).GetString(), StringComparison.Ordinal);
        Assert.Equal("ok", checks.GetProperty("cluster").GetString());
        Assert.Equal("ok", checks.GetProperty("engines").GetString());
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/api/v1/health")).StatusCode);
    }

    [Fact]
    public async Task A_catalogue_without_an_available_voice_is_unready_on_engines()
    {
        // One voice, for an engine this server does not have.
        using var catalogue = await UnspeakableCatalogue.Create();
        await using var gateway = await RunningGateway.Start(catalogue.Settings);
        var checks = await UnreadyChecks(gateway);
        Assert.Equal("no voice available", checks.GetProperty("engines").GetString());
        Assert.Equal("ok", checks.GetProperty("cluster").GetString());
        Assert.Equal("ok", checks.GetProperty("memory").GetString());
    }

    /// <summary>Polls readiness (the resource figures are sampled once a second) until it says unready; its checks.</summary>
    private static async Task<JsonElement> UnreadyChecks(RunningGateway gateway)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            using var response = await gateway.Client.GetAsync("/api/v1/ready");
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline)
            {
                var body = await response.Json(HttpStatusCode.ServiceUnavailable);
                Assert.Equal("unready", body.GetProperty("status").GetString());
                return body.GetProperty("checks");
            }

            await Task.Delay(100);
        }
    }
}
