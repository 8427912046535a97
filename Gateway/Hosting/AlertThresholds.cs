namespace MitTts.Gateway.Hosting;

/// <summary>The seed's alert thresholds (<c>monitoring:alerts</c>: cpu_percent 80, memory_percent 85, queue_size 100 jobs,
/// error_rate_percent 5) and which alerts fire: one round's figures in, the alerts that started or stopped firing out.</summary>
/// <remarks>A plain class (no clock, no cluster, no log) so the arithmetic is tested alone; <see cref="AlertMonitor"/> measures, logs and
/// exports. Not thread-safe: one evaluation at a time.</remarks>
public sealed class AlertThresholds
{
    private readonly AlertRule[] _rules;
    private readonly Dictionary<string, ActiveAlert> _firing = new(StringComparer.Ordinal);
    private volatile IReadOnlyList<ActiveAlert> _active = [];

    public AlertThresholds(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var alerts = configuration.GetSection("monitoring:alerts");
        _rules =
        [
            new("cpu_usage", alerts.GetValue("cpu_percent", 80.0), "%"),
            new("memory_usage", alerts.GetValue("memory_percent", 85.0), "%"),
            new("queue_size", alerts.GetValue("queue_size", 100.0), "jobs"),
            new("error_rate", alerts.GetValue("error_rate_percent", 5.0), "%"),
        ];
    }

    /// <summary>Every alert there is, firing or not, in evaluation order.</summary>
    public IReadOnlyList<AlertRule> Rules => _rules;

    /// <summary>The alerts firing now, by name (safe to read from any thread).</summary>
    public IReadOnlyList<ActiveAlert> Active => _active;

    /// <summary>The share of requests answered 5xx between two readings of the request totals, in percent; 0 when none came.</summary>
    public static double ErrorRatePercent((long Requests, long ServerErrors) before, (long Requests, long ServerErrors) now)
    {
        var requests = now.Requests - before.Requests;
        return requests > 0 ? 100.0 * (now.ServerErrors - before.ServerErrors) / requests : 0;
    }

    /// <summary>Compares one round's figures with the thresholds (a figure above its threshold fires); a null figure (not measurable now)
    /// leaves its alert as it was. Returns what changed.</summary>
    public IReadOnlyList<AlertChange> Evaluate(AlertFigures figures, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(figures);
        double?[] values = [figures.CpuPercent, figures.MemoryPercent, figures.QueuedJobs, figures.ErrorRatePercent];
        var changes = new List<AlertChange>();
        for (var i = 0; i < _rules.Length; i++)
        {
            var rule = _rules[i];
            if (values[i] is not { } value)
            {
                continue;
            }

            if (value > rule.Threshold && !_firing.ContainsKey(rule.Name))
            {
                var alert = new ActiveAlert(rule.Name, Math.Round(value, 1), rule.Threshold, rule.Unit, now);
                _firing[rule.Name] = alert;
                changes.Add(new AlertFired(alert));
            }
            else if (value > rule.Threshold)
            {
                _firing[rule.Name] = _firing[rule.Name] with { Value = Math.Round(value, 1) };
            }
            else if (_firing.Remove(rule.Name))
            {
                changes.Add(new AlertResolved(rule, value));
            }
        }

        _active = [.. _firing.Values.OrderBy(a => a.Name, StringComparer.Ordinal)];
        return changes;
    }
}

/// <summary>One alert: its name (<c>mittts_alerts_firing{alert}</c>), threshold and unit.</summary>
public sealed record AlertRule(string Name, double Threshold, string Unit);

/// <summary>One round's figures: CPU and memory in percent, jobs queued in the cluster, 5xx share in percent; null where not measurable.</summary>
public sealed record AlertFigures(double? CpuPercent, double? MemoryPercent, double? QueuedJobs, double? ErrorRatePercent);

/// <summary>An alert started or stopped firing in a round.</summary>
public abstract record AlertChange;

/// <summary>An alert started firing.</summary>
public sealed record AlertFired(ActiveAlert Alert) : AlertChange;

/// <summary>A firing alert's figure fell back to its threshold or below.</summary>
public sealed record AlertResolved(AlertRule Rule, double Value) : AlertChange;

/// <summary>An alert firing: its figure now, the threshold it crossed, and since when.</summary>
public sealed record ActiveAlert(string Name, double Value, double Threshold, string Unit, DateTimeOffset Since);
