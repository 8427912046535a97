using Microsoft.Extensions.Configuration;
using MitTts.Gateway.Hosting;

namespace MitTts.Tests.Observability;

/// <summary>The alert evaluation alone: the seed's default thresholds, a figure above its threshold fires once and resolves once, and the
/// error rate is the 5xx share of the requests since the last round.</summary>
public sealed class AlertThresholdsTests
{
    private static readonly DateTimeOffset s_now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_defaults_are_the_seed_thresholds_and_only_a_figure_above_one_fires()
    {
        var alerts = new AlertThresholds(new ConfigurationBuilder().Build());
        Assert.Equal(
            [("cpu_usage", 80.0, "%"), ("memory_usage", 85.0, "%"), ("queue_size", 100.0, "jobs"), ("error_rate", 5.0, "%")],
            alerts.Rules.Select(r => (r.Name, r.Threshold, r.Unit)));

        // At a threshold is not over it.
        Assert.Empty(alerts.Evaluate(new AlertFigures(80, 85, 100, 5), s_now));
        Assert.Empty(alerts.Active);

        var changes = alerts.Evaluate(new AlertFigures(80.1, 85.1, 101, 5.1), s_now);
        Assert.Equal(["cpu_usage", "memory_usage", "queue_size", "error_rate"], changes.Cast<AlertFired>().Select(c => c.Alert.Name));
        Assert.Equal(["cpu_usage", "error_rate", "memory_usage", "queue_size"], alerts.Active.Select(a => a.Name));
        Assert.Equal(101, alerts.Active.Single(a => a.Name == "queue_size").Value);
        Assert.All(alerts.Active, a => Assert.Equal(s_now, a.Since));
    }

    [Fact]
    public void A_firing_alert_fires_once_follows_its_figure_keeps_its_state_when_unmeasured_and_resolves_once()
    {
        var alerts = new AlertThresholds(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["monitoring:alerts:queue_size"] = "10",
        }).Build());

        Assert.IsType<AlertFired>(Assert.Single(alerts.Evaluate(new AlertFigures(0, 0, 11, 0), s_now)));
        Assert.Empty(alerts.Evaluate(new AlertFigures(0, 0, 25, 0), s_now.AddSeconds(15)));
        var queue = Assert.Single(alerts.Active);
        Assert.Equal((25.0, 10.0, "jobs", s_now), (queue.Value, queue.Threshold, queue.Unit, queue.Since));

        // The cluster did not answer: no figure, no change.
        Assert.Empty(alerts.Evaluate(new AlertFigures(0, 0, null, 0), s_now.AddSeconds(30)));
        Assert.Single(alerts.Active);

        var resolved = Assert.IsType<AlertResolved>(Assert.Single(alerts.Evaluate(new AlertFigures(0, 0, 10, 0), s_now.AddSeconds(45))));
        Assert.Equal(("queue_size", 10.0), (resolved.Rule.Name, resolved.Value));
        Assert.Empty(alerts.Active);
        Assert.Empty(alerts.Evaluate(new AlertFigures(0, 0, 3, 0), s_now.AddSeconds(60)));
    }

    [Theory]
    [InlineData(0, 0, 0, 0, 0.0)]
    [InlineData(100, 5, 200, 5, 0.0)]
    [InlineData(100, 5, 200, 11, 6.0)]
    [InlineData(1000, 0, 1020, 20, 100.0)]
    [InlineData(0, 0, 3, 1, 33.333333333333336)]
    public void The_error_rate_is_the_5xx_share_of_the_requests_since_the_last_round(long requestsBefore, long errorsBefore, long requestsNow, long errorsNow, double percent) =>
        Assert.Equal(percent, AlertThresholds.ErrorRatePercent((requestsBefore, errorsBefore), (requestsNow, errorsNow)), 9);
}
