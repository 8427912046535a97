using MitTts.Tests.Api;
using MitTts.Tests.Cluster;
using MitTts.Tests.Support;

namespace MitTts.Tests.Observability;

/// <summary>The deployment's Prometheus files are valid for Prometheus itself.</summary>
public sealed class AlertRulesTests
{
    [Fact]
    public async Task The_alert_rules_pass_promtool()
    {
        var rules = Path.Combine(RealClusterFixture.RepositoryRoot, "deploy", "prometheus", "alerts.yml");
        var (stdout, _, _) = await ExternalTool.Run("promtool", "check", "rules", rules);
        Assert.Contains("SUCCESS: 6 rules found", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_alert_rules_hold_the_seed_thresholds_against_series_the_server_exports()
    {
        var text = await File.ReadAllTextAsync(Path.Combine(RealClusterFixture.RepositoryRoot, "deploy", "prometheus", "alerts.yml"));
        foreach (var expression in new[] { "mittts_process_cpu_utilization) > 0.80", "mittts_process_memory_utilization) > 0.85", "sum(mittts_scheduler_queue_length) > 100", "> 0.05" })
        {
            Assert.Contains(expression, text, StringComparison.Ordinal);
        }

        await using var server = await GatewayProcess.Start();
        (await server.Client.Synthesize(new { text = "Hola.", voice_id = "es-female-1" }, wait: true)).EnsureSuccessStatusCode();
        var metrics = await server.Client.GetStringAsync("/metrics");
        foreach (var series in new[] { "mittts_process_cpu_utilization", "mittts_process_memory_utilization", "mittts_scheduler_queue_length", "mittts_first_audio_seconds_bucket" })
        {
            Assert.Contains(series, metrics, StringComparison.Ordinal);
        }
    }
}
