using System.Text.Json;
using MitTts.Tests.Api;

namespace MitTts.Tests.Observability;

/// <summary>The gateway's own alert evaluation: a crossed threshold shows as a warning in the log, a gauge, and a line in <c>/status</c>.</summary>
public sealed class AlertTests
{
    [Fact]
    public async Task A_crossed_threshold_is_logged_as_a_warning_shown_on_status_and_exported_as_a_gauge()
    {
        // Any CPU use crosses a threshold below zero; the queue threshold stays where no test queue reaches it.
        await using var server = await GatewayProcess.Start(new Dictionary<string, string>
        {
            ["monitoring__alert_interval_seconds"] = "0.2",
            ["monitoring__alerts__cpu_percent"] = "-1",
        });

        var alerts = await AlertsOnStatus(server, "cpu_usage");
        var cpu = alerts.EnumerateArray().Single(a => a.GetProperty("name").GetString() == "cpu_usage");
        Assert.Equal(-1, cpu.GetProperty("threshold").GetDouble());
        Assert.Equal("%", cpu.GetProperty("unit").GetString());
        Assert.DoesNotContain(alerts.EnumerateArray(), a => a.GetProperty("name").GetString() == "queue_size");

        var metrics = await server.Client.GetStringAsync("/metrics");
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("mittts_alerts_firing{", StringComparison.Ordinal)
            && l.Contains("alert=\"cpu_usage\"", StringComparison.Ordinal) && l.Split(' ')[1] == "1");
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("mittts_alerts_firing{", StringComparison.Ordinal)
            && l.Contains("alert=\"queue_size\"", StringComparison.Ordinal) && l.Split(' ')[1] == "0");

        Assert.Single(Warnings(server, "cpu_usage"));
    }

    [Fact]
    public async Task Memory_queue_and_error_rate_alerts_fire_each_with_one_warning_a_status_line_and_a_gauge()
    {
        // Thresholds below zero: any memory use, any queue (an empty one is 0 jobs) and any error rate (none is 0 %) crosses them.
        await using var server = await GatewayProcess.Start(new Dictionary<string, string>
        {
            ["monitoring__alert_interval_seconds"] = "0.2",
            ["monitoring__alerts__cpu_percent"] = "1000",
            ["monitoring__alerts__memory_percent"] = "-1",
            ["monitoring__alerts__queue_size"] = "-1",
            ["monitoring__alerts__error_rate_percent"] = "-2",
        });

        string[] firing = ["error_rate", "memory_usage", "queue_size"];
        var alerts = await AlertsOnStatus(server, firing);
        Assert.Equal(firing, alerts.EnumerateArray().Select(a => a.GetProperty("name").GetString()));
        var byName = alerts.EnumerateArray().ToDictionary(a => a.GetProperty("name").GetString()!);
        Assert.Equal((-1.0, "%"), (byName["memory_usage"].GetProperty("threshold").GetDouble(), byName["memory_usage"].GetProperty("unit").GetString()));
        Assert.True(byName["memory_usage"].GetProperty("value").GetDouble() > 0);
        Assert.Equal((-1.0, "jobs", 0.0), (byName["queue_size"].GetProperty("threshold").GetDouble(), byName["queue_size"].GetProperty("unit").GetString(),
            byName["queue_size"].GetProperty("value").GetDouble()));
        Assert.Equal((-2.0, "%", 0.0), (byName["error_rate"].GetProperty("threshold").GetDouble(), byName["error_rate"].GetProperty("unit").GetString(),
            byName["error_rate"].GetProperty("value").GetDouble()));

        var metrics = await server.Client.GetStringAsync("/metrics");
        foreach (var alert in firing)
        {
            Assert.Equal(1, PrometheusText.Sum(metrics, "mittts_alerts_firing", $"alert=\"{alert}\""));
        }

        Assert.Equal(0, PrometheusText.Sum(metrics, "mittts_alerts_firing", "alert=\"cpu_usage\""));

        // Many rounds have passed (every 0.2 s) while they kept firing: still one warning each, none for CPU.
        foreach (var alert in firing)
        {
            Assert.Single(Warnings(server, alert));
        }

        Assert.Empty(Warnings(server, "cpu_usage"));
    }

    /// <summary>Polls <c>/status</c> until each of <paramref name="names"/> is among its alerts (20 s at most); the alerts then.</summary>
    private static async Task<JsonElement> AlertsOnStatus(GatewayProcess server, params string[] names)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var alerts = (await (await server.Client.GetAsync("/api/v1/status")).Json()).GetProperty("alerts");
            if (names.All(n => alerts.EnumerateArray().Any(a => a.GetProperty("name").GetString() == n)) || DateTime.UtcNow > deadline)
            {
                return alerts;
            }

            await Task.Delay(100);
        }
    }

    private static IEnumerable<JsonElement> Warnings(GatewayProcess server, string alert) =>
        server.LogLines().Select(l => JsonDocument.Parse(l).RootElement)
            .Where(l => l.TryGetProperty("@l", out var level) && level.GetString() == "Warning"
                && l.TryGetProperty("Alert", out var name) && name.GetString() == alert);
}
