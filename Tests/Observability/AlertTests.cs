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

        JsonElement alerts = default;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            alerts = (await (await server.Client.GetAsync("/api/v1/status")).Json()).GetProperty("alerts");
            if (alerts.EnumerateArray().Any(a => a.GetProperty("name").GetString() == "cpu_usage"))
            {
                break;
            }

            await Task.Delay(100);
        }

        var cpu = alerts.EnumerateArray().Single(a => a.GetProperty("name").GetString() == "cpu_usage");
        Assert.Equal(-1, cpu.GetProperty("threshold").GetDouble());
        Assert.Equal("%", cpu.GetProperty("unit").GetString());
        Assert.DoesNotContain(alerts.EnumerateArray(), a => a.GetProperty("name").GetString() == "queue_size");

        var metrics = await server.Client.GetStringAsync("/metrics");
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("mittts_alerts_firing{", StringComparison.Ordinal)
            && l.Contains("alert=\"cpu_usage\"", StringComparison.Ordinal) && l.Split(' ')[1] == "1");
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("mittts_alerts_firing{", StringComparison.Ordinal)
            && l.Contains("alert=\"queue_size\"", StringComparison.Ordinal) && l.Split(' ')[1] == "0");

        var warnings = server.LogLines().Select(l => JsonDocument.Parse(l).RootElement)
            .Where(l => l.TryGetProperty("@l", out var level) && level.GetString() == "Warning"
                && l.TryGetProperty("Alert", out var alert) && alert.GetString() == "cpu_usage");
        Assert.Single(warnings);
    }
}
