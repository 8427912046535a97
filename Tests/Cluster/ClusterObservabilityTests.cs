using System.Globalization;
using System.Net;
using System.Text.Json;
using MitTts.Tests.Api;

namespace MitTts.Tests.Cluster;

/// <summary>Operations in cluster mode with real processes: live configuration across nodes, readiness when Redis goes away, and
/// every silo and gateway serving its own metrics.</summary>
[Collection(RealClusterCollection.Name)]
public sealed class ClusterObservabilityTests(RealClusterFixture cluster) : IAsyncLifetime
{
    public Task InitializeAsync() => cluster.EnsureHealthy();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Put_config_through_one_gateway_takes_effect_on_the_other_gateway_and_on_both_silos()
    {
        using var first = cluster.Gateway("gateway-a");
        using var second = cluster.Gateway("gateway-b");
        try
        {
            var answer = await PutWhenStored(first, """{"tts": {"max_text_length": 40}, "scheduling": {"max_queue_per_level": 7}}""");
            var version = answer.GetProperty("version").GetInt64();

            // The other gateway refuses what the first now refuses, without a restart.
            await cluster.WaitFor(async () =>
                (await (await second.GetAsync("/api/v1/config")).Json()).GetProperty("tts").GetProperty("max_text_length").GetInt32() == 40,
                "gateway-b to follow the change", TimeSpan.FromSeconds(20));
            await (await second.Synthesize(new { text = new string('a', 41), voice_id = "es-female-1" })).AssertProblem(HttpStatusCode.BadRequest, "text_too_long", "text");

            // Each silo applies the queue limit: its own metrics say which version and which limit it runs with.
            await SilosRun(version, queueLimit: 7, TimeSpan.FromSeconds(20));
        }
        finally
        {
            // The cluster (and its Redis-persisted settings) is shared with the other cluster tests.
            (await Put(first, """{"tts": {"max_text_length": 5000}, "scheduling": {"max_queue_per_level": 500}}""")).EnsureSuccessStatusCode();
        }
    }

    [Fact]
    public async Task Put_config_outlives_a_restart_of_both_silos_and_a_gateway_and_is_still_enforced()
    {
        using var first = cluster.Gateway("gateway-a");
        try
        {
            var version = (await PutWhenStored(first, """{"tts": {"max_text_length": 33}, "scheduling": {"max_queue_per_level": 9}}""")).GetProperty("version").GetInt64();

            // Every silo (the config grain's home among them) and gateway-b go away; new processes start with nothing in memory.
            foreach (var name in new[] { "silo-a", "silo-b", "gateway-b" })
            {
                await cluster.Process(name).Stop(TimeSpan.FromSeconds(15));
            }

            await cluster.EnsureHealthy();

            foreach (var name in new[] { "gateway-a", "gateway-b" })
            {
                using var gateway = cluster.Gateway(name);
                await cluster.WaitFor(async () =>
                {
                    var config = await (await gateway.GetAsync("/api/v1/config")).Json();
                    return config.GetProperty("version").GetInt64() == version
                        && config.GetProperty("tts").GetProperty("max_text_length").GetInt32() == 33
                        && config.GetProperty("scheduling").GetProperty("max_queue_per_level").GetInt32() == 9;
                }, $"{name} to answer version {version} after the restart", TimeSpan.FromSeconds(30));
                await (await gateway.Synthesize(new { text = new string('a', 34), voice_id = "es-female-1" })).AssertProblem(HttpStatusCode.BadRequest, "text_too_long", "text");
            }

            await SilosRun(version, queueLimit: 9, TimeSpan.FromSeconds(30));
        }
        finally
        {
            (await Put(first, """{"tts": {"max_text_length": 5000}, "scheduling": {"max_queue_per_level": 500}}""")).EnsureSuccessStatusCode();
        }
    }

    [Fact]
    public async Task Every_silo_and_gateway_serves_its_own_metrics()
    {
        (await cluster.Balancer.Synthesize(new { text = "Métricas de todos.", voice_id = "es-female-1" }, wait: true)).EnsureSuccessStatusCode();
        foreach (var silo in new[] { "silo-a", "silo-b" })
        {
            using var metrics = new HttpClient { BaseAddress = cluster.SiloMetrics(silo) };
            var text = await metrics.GetStringAsync("/metrics");
            Assert.Contains("mittts_scheduler_queue_limit", text, StringComparison.Ordinal);
            Assert.Contains("mittts_result_store_size_bytes", text, StringComparison.Ordinal);
            Assert.Contains("\norleans_", text, StringComparison.Ordinal);
            Assert.DoesNotContain("mittts_http_requests_total", text, StringComparison.Ordinal);
        }

        foreach (var gateway in new[] { "gateway-a", "gateway-b" })
        {
            using var client = cluster.Gateway(gateway);
            var text = await client.GetStringAsync("/metrics");
            Assert.Contains("mittts_http_requests_total", text, StringComparison.Ordinal);
            Assert.Contains("mittts_process_cpu_utilization", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Readiness_goes_unready_when_redis_stops_and_ready_again_when_it_returns()
    {
        using var gateway = cluster.Gateway("gateway-a");
        var ready = await (await gateway.GetAsync("/api/v1/ready")).Json();
        Assert.Equal("ready", ready.GetProperty("status").GetString());
        Assert.Equal("ok", ready.GetProperty("checks").GetProperty("redis").GetString());

        await cluster.Process("redis").Stop(TimeSpan.FromSeconds(5));
        await cluster.WaitFor(async () =>
        {
            var response = await gateway.GetAsync("/api/v1/ready");
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
            {
                return false;
            }

            var body = await response.Json(HttpStatusCode.ServiceUnavailable);
            return body.GetProperty("status").GetString() == "unready" && body.GetProperty("checks").GetProperty("redis").GetString() == "unreachable";
        }, "readiness to say unready", TimeSpan.FromSeconds(20));

        // Liveness is not readiness: /health still answers 200 (degraded), so the gateway is not restarted for Redis's outage.
        Assert.Equal(HttpStatusCode.OK, (await gateway.GetAsync("/api/v1/health")).StatusCode);

        await cluster.StartRedis();
        await cluster.WaitFor(async () =>
        {
            var response = await gateway.GetAsync("/api/v1/ready");
            return response.StatusCode == HttpStatusCode.OK && (await response.Json()).GetProperty("status").GetString() == "ready";
        }, "readiness to say ready again", TimeSpan.FromSeconds(30));
    }

    /// <summary>Waits until each silo's own metrics say it runs settings <paramref name="version"/> with <paramref name="queueLimit"/>.</summary>
    private async Task SilosRun(long version, int queueLimit, TimeSpan timeout)
    {
        foreach (var silo in new[] { "silo-a", "silo-b" })
        {
            using var metrics = new HttpClient { BaseAddress = cluster.SiloMetrics(silo) };
            await cluster.WaitFor(async () =>
            {
                var text = await metrics.GetStringAsync("/metrics");
                return Sample(text, "mittts_config_version") == version && Sample(text, "mittts_scheduler_queue_limit") == queueLimit;
            }, $"{silo} to run settings version {version}", timeout);
        }
    }

    /// <summary>PUTs <paramref name="body"/> and answers the stored settings. Right after another test's Redis outage the silo's storage
    /// connection may still be coming back: such a write is refused with 503 (retry shortly), and retried here as a client would.</summary>
    private async Task<System.Text.Json.JsonElement> PutWhenStored(HttpClient client, string body)
    {
        HttpResponseMessage? put = null;
        await cluster.WaitFor(
            async () => (put = await Put(client, body)).StatusCode != HttpStatusCode.ServiceUnavailable,
            "the config write to reach its storage",
            TimeSpan.FromSeconds(20));
        return await put!.Json();
    }

    private static Task<HttpResponseMessage> Put(HttpClient client, string body) =>
        client.PutAsync("/api/v1/config", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

    /// <summary>The value of a sample without labels (or with only OpenTelemetry's scope labels) in Prometheus text.</summary>
    private static double? Sample(string text, string name)
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(name + " ", StringComparison.Ordinal) || line.StartsWith(name + "{", StringComparison.Ordinal))
            {
                // name{labels} value [timestamp]
                var afterLabels = line[(line.LastIndexOf('}') + 1)..].Trim();
                var value = line.Contains('{', StringComparison.Ordinal) ? afterLabels : line[(name.Length + 1)..];
                return double.Parse(value.Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return null;
    }
}
