using System.Net;
using System.Net.Http.Json;
using MitTts.Tests.Api;

namespace MitTts.Tests.Observability;

/// <summary>Refusals for load as an operator counts them: every 429 the clients got is one <c>mittts_rejections_total</c> under its code,
/// and a full queue also moves the scheduler's own counter.</summary>
public sealed class RejectionMetricsTests
{
    [Fact]
    public async Task Every_busy_and_rate_limited_refusal_is_counted_once_under_its_code()
    {
        // A process of its own: its counters hold this test's traffic only. Loopback callers are exempt from rate limits unless told otherwise.
        await using var server = await GatewayProcess.Start(new Dictionary<string, string> { ["security__rate_limits__exempt_loopback"] = "false" });
        var client = server.Client;
        using var scraper = new HttpClient { BaseAddress = server.MetricsAddress };

        // Before any refusal each series reads 0 (an alert on its rate needs it to exist), for every code and every level.
        var fresh = await scraper.GetStringAsync("/metrics");
        foreach (var code in new[] { "busy", "rate_limited", "too_many_sessions", "too_many_active_tasks" })
        {
            Assert.Equal(0, PrometheusText.Sum(fresh, "mittts_rejections_total", $"code=\"{code}\""));
        }

        foreach (var level in new[] { "critical", "high", "normal" })
        {
            Assert.Equal(0, PrometheusText.Sum(fresh, "mittts_scheduler_rejections_total", $"priority=\"{level}\""));
            Assert.Equal(0, PrometheusText.Sum(fresh, "mittts_scheduler_preemptions_total", $"priority=\"{level}\""));
            Assert.Equal(0, PrometheusText.Sum(fresh, "mittts_scheduler_cancellations_total", $"priority=\"{level}\""));
        }

        Assert.Equal(0, PrometheusText.Sum(fresh, "mittts_cache_hits_total"));

        // Busy: one job per level, and a text long enough to keep the only engine slot busy while the rest arrive.
        (await Put(client, """{"tts": {"max_text_length": 100000}, "scheduling": {"max_queue_per_level": 1}}""")).EnsureSuccessStatusCode();
        var longText = string.Concat(Enumerable.Repeat("Esta frase larga ocupa el único motor durante un buen rato. ", 1500));
        var longTask = (await (await client.Synthesize(new { text = longText, voice_id = "es-female-1" })).Json()).GetProperty("task_id").GetString();
        var busy = 0;
        for (var i = 0; i < 5; i++)
        {
            using var response = await client.Synthesize(new { text = $"Una de más {i}.", voice_id = "es-female-1" });
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                await response.AssertProblem(HttpStatusCode.TooManyRequests, "busy");
                busy++;
            }
            else
            {
                response.EnsureSuccessStatusCode();
            }
        }

        Assert.True(busy >= 3, $"{busy} of 5 requests were refused as busy behind a running job and one queued");
        var metrics = await scraper.GetStringAsync("/metrics");
        Assert.Equal(busy, PrometheusText.Sum(metrics, "mittts_rejections_total", "code=\"busy\""));
        Assert.Equal(busy, PrometheusText.Sum(metrics, "mittts_errors_total", "code=\"busy\""));
        Assert.Equal(busy, PrometheusText.Sum(metrics, "mittts_scheduler_rejections_total", "priority=\"normal\""));
        Assert.Equal(0, PrometheusText.Sum(metrics, "mittts_rejections_total", "code=\"rate_limited\""));

        // Errors of the OpenAI endpoint, in OpenAI's shape, are counted as every other error is.
        using (var invalid = await client.PostAsync("/v1/audio/speech", Json("""{"model": "tts-1", "input": "hola", "voice": "alloy", "speed": 9}""")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        }

        using (var missing = await client.GetAsync("/v1/nothing-here"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Equal("not_found", (await missing.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("error").GetProperty("code").GetString());
        }

        // Rate limited: two syntheses a minute, then more than that; the gateway refuses them before the scheduler sees them.
        (await Put(client, """{"scheduling": {"max_queue_per_level": 500}, "rate_limits": {"synthesize_per_minute": 2}}""")).EnsureSuccessStatusCode();
        var limited = 0;
        for (var i = 0; i < 6; i++)
        {
            using var response = await client.Synthesize(new { text = $"Otra más {i}.", voice_id = "es-female-1" });
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                await response.AssertProblem(HttpStatusCode.TooManyRequests, "rate_limited");
                limited++;
            }
            else
            {
                response.EnsureSuccessStatusCode();
            }
        }

        Assert.True(limited >= 4, $"{limited} of 6 requests were refused at two a minute");
        metrics = await scraper.GetStringAsync("/metrics");
        Assert.Equal(limited, PrometheusText.Sum(metrics, "mittts_rejections_total", "code=\"rate_limited\""));
        Assert.Equal(busy, PrometheusText.Sum(metrics, "mittts_rejections_total", "code=\"busy\""));
        Assert.Equal(busy, PrometheusText.Sum(metrics, "mittts_scheduler_rejections_total"));
        Assert.Equal(busy + limited, PrometheusText.Sum(metrics, "mittts_http_requests_total", "route=\"/api/v1/synthesize\"", "status=\"429\""));

        // The OpenAI endpoint spends the same budget; its refusal is counted as the others are.
        using (var speech = await client.PostAsync("/v1/audio/speech", Json("""{"model": "tts-1", "input": "hola", "voice": "alloy"}""")))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, speech.StatusCode);
        }

        metrics = await scraper.GetStringAsync("/metrics");
        Assert.Equal(1, PrometheusText.Sum(metrics, "mittts_rejections_total", "code=\"rate_limit_exceeded\""));
        Assert.Equal(1, PrometheusText.Sum(metrics, "mittts_errors_total", "code=\"rate_limit_exceeded\""));
        Assert.Equal(1, PrometheusText.Sum(metrics, "mittts_errors_total", "code=\"speed_out_of_range\""));
        Assert.Equal(1, PrometheusText.Sum(metrics, "mittts_errors_total", "code=\"not_found\""));

        // The long job need not hold up the server's shutdown.
        (await client.DeleteAsync($"/api/v1/tasks/{longTask}")).EnsureSuccessStatusCode();
    }

    private static Task<HttpResponseMessage> Put(HttpClient client, string body) => client.PutAsync("/api/v1/config", Json(body));

    private static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");
}
