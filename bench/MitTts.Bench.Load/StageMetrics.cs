using System.Globalization;
using System.Text.RegularExpressions;

namespace MitTts.Bench.Load;

/// <summary>The servers' own account of where streamed first audio spends its time: the sums and counts of the silo's stage histogram
/// (<c>mittts_stream_first_audio_stage_seconds</c>: dispatch, synthesis, channel), the gateway's (<c>mittts_stream_gateway_stage_seconds</c>:
/// accept, deliver) and the gateway's whole (<c>mittts_first_audio_seconds</c>, WebSocket), read from each process's <c>/metrics</c>.</summary>
/// <remarks>Means over a window (the difference of two readings); what the whole leaves after the stages is the hops between processes
/// (gateway to silo and back) and the reader's wake-ups.</remarks>
internal sealed partial class StageMetrics
{
    private static readonly string[] s_order = ["accept", "dispatch", "synthesis", "channel", "deliver"];

    private readonly Dictionary<string, (double Sum, double Count)> _series;

    private StageMetrics(Dictionary<string, (double Sum, double Count)> series) => _series = series;

    /// <summary>The figures summed over every process at <paramref name="endpoints"/> (their <c>/metrics</c>).</summary>
    public static async Task<StageMetrics> Read(IEnumerable<Uri> endpoints)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var series = new Dictionary<string, (double Sum, double Count)>(StringComparer.Ordinal);
        foreach (var endpoint in endpoints)
        {
            var text = await http.GetStringAsync(new Uri(endpoint, "/metrics"));
            foreach (Match match in Line().Matches(text))
            {
                var labels = match.Groups["labels"].Value;
                var key = match.Groups["name"].Value == "mittts_first_audio_seconds"
                    ? (labels.Contains("transport=\"websocket\"", StringComparison.Ordinal) ? "total" : null)
                    : Stage().Match(labels) is { Success: true } stage ? stage.Groups[1].Value : null;
                if (key is null)
                {
                    continue;
                }

                var value = double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
                var (sum, count) = series.GetValueOrDefault(key);
                series[key] = match.Groups["part"].Value == "sum" ? (sum + value, count) : (sum, count + value);
            }
        }

        return new StageMetrics(series);
    }

    /// <summary>Mean milliseconds per task of each stage between <paramref name="before"/> and this reading, the rest of the whole
    /// (hops), and the whole: "accept 0.05 / dispatch 0.40 / … / hops 1.10 = 3.20 ms (300 tasks)".</summary>
    public string MeansSince(StageMetrics before)
    {
        ArgumentNullException.ThrowIfNull(before);
        var culture = CultureInfo.InvariantCulture;
        double Mean(string key, out double count)
        {
            var (sum, n) = _series.GetValueOrDefault(key);
            var (sum0, n0) = before._series.GetValueOrDefault(key);
            count = n - n0;
            return count > 0 ? (sum - sum0) / count * 1000 : double.NaN;
        }

        var total = Mean("total", out var tasks);
        if (tasks <= 0)
        {
            return "no streamed first audio measured";
        }

        var parts = new List<string>();
        var staged = 0.0;
        foreach (var stage in s_order)
        {
            var mean = Mean(stage, out _);
            parts.Add(string.Create(culture, $"{stage} {mean:0.00}"));
            staged += double.IsNaN(mean) ? 0 : mean;
        }

        parts.Add(string.Create(culture, $"hops {total - staged:0.00}"));
        return string.Join(" / ", parts) + string.Create(culture, $" = {total:0.00} ms ({tasks:0} tasks)");
    }

    [GeneratedRegex(@"^(?<name>mittts_stream_first_audio_stage_seconds|mittts_stream_gateway_stage_seconds|mittts_first_audio_seconds)_(?<part>sum|count)\{(?<labels>[^}]*)\} (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Line();

    [GeneratedRegex("stage=\"([a-z]+)\"")]
    private static partial Regex Stage();
}
