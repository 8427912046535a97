using System.Diagnostics.Metrics;
using MitTts.Gateway.Telemetry;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Hosting;

/// <summary>The seed's alert thresholds (CPU 80 %, memory 85 %, queue 100 jobs, error rate 5 %), evaluated every
/// <c>monitoring:alert_interval_seconds</c> (15): a warning in the log when one starts firing, the gauge <c>mittts_alerts_firing</c>,
/// and the list on <c>/status</c>. Prometheus evaluates the same rules itself (<c>deploy/prometheus/alerts.yml</c>).</summary>
public sealed partial class AlertMonitor : BackgroundService
{
    private readonly IGrainFactory _grains;
    private readonly ResourceMonitor _resources;
    private readonly GatewayMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<AlertMonitor> _logger;
    private readonly TimeSpan _interval;
    private readonly AlertThresholds _thresholds;
    private (long Requests, long ServerErrors) _lastTotals;

    public AlertMonitor(IGrainFactory grains, ResourceMonitor resources, GatewayMetrics metrics, IMeterFactory meters, TimeProvider time,
        IConfiguration configuration, ILogger<AlertMonitor> logger)
    {
        ArgumentNullException.ThrowIfNull(meters);
        ArgumentNullException.ThrowIfNull(configuration);
        _grains = grains;
        _resources = resources;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _interval = TimeSpan.FromSeconds(configuration.GetValue("monitoring:alert_interval_seconds", 15.0));
        _thresholds = new AlertThresholds(configuration);
        meters.Create(GatewayMetrics.MeterName + ".Alerts").CreateObservableGauge<int>("mittts.alerts.firing", Firing, description: "1 while an alert fires, by alert.");
    }

    /// <summary>The alerts firing now.</summary>
    public IReadOnlyList<ActiveAlert> Active => _thresholds.Active;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _lastTotals = _metrics.RequestTotals;
        using var timer = new PeriodicTimer(_interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await Evaluate();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A failed round must not stop the host (a BackgroundService's exception does); the next one tries again.
                    LogEvaluationFailed(e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Measures each alert's figure once and updates what fires.</summary>
    public async Task Evaluate()
    {
        var sample = _resources.Current;
        var totals = _metrics.RequestTotals;
        var errorRate = AlertThresholds.ErrorRatePercent(_lastTotals, totals);
        _lastTotals = totals;
        // A null queue figure (the cluster did not answer) keeps the queue alert as it was.
        var figures = new AlertFigures(sample.CpuPercent, 100 * GatewayMetrics.MemoryFraction(sample), await QueuedJobs(), errorRate);
        foreach (var change in _thresholds.Evaluate(figures, _time.GetUtcNow()))
        {
            switch (change)
            {
                case AlertFired { Alert: var alert }:
                    LogFiring(alert.Name, alert.Value, alert.Threshold, alert.Unit);
                    break;
                case AlertResolved { Rule: var rule, Value: var value }:
                    LogResolved(rule.Name, value, rule.Threshold, rule.Unit);
                    break;
            }
        }
    }

    private async Task<double?> QueuedJobs()
    {
        try
        {
            var keys = await _grains.GetGrain<IDeviceDirectoryGrain>(0).GetDevices();
            var devices = await Task.WhenAll(keys.Select(key => _grains.GetGrain<ISynthesizerGrain>(key).GetStatus()));
            return devices.Sum(d => d.QueueLength);
        }
        catch (Exception e) when (ClusterHealth.IsUnavailable(e) || e is OrleansException)
        {
            return null;
        }
    }

    private IEnumerable<Measurement<int>> Firing()
    {
        var active = _thresholds.Active;
        foreach (var rule in _thresholds.Rules)
        {
            yield return new Measurement<int>(active.Any(a => a.Name == rule.Name) ? 1 : 0, new KeyValuePair<string, object?>("alert", rule.Name));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {Alert} firing: {Value:0.#} over the threshold of {Threshold} ({Unit})")]
    private partial void LogFiring(string alert, double value, double threshold, string unit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {Alert} resolved: {Value:0.#}, threshold {Threshold} ({Unit})")]
    private partial void LogResolved(string alert, double value, double threshold, string unit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Evaluating the alerts failed")]
    private partial void LogEvaluationFailed(Exception exception);
}
