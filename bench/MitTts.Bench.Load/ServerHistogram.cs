using System.Globalization;
using System.Text.RegularExpressions;

namespace MitTts.Bench.Load;

/// <summary>One histogram of a server's own <c>/metrics</c> (its cumulative buckets, summed over label sets), read before and after a
/// scenario: how the server measured what the clients measured, without the clients' and the kernel's share of the time.</summary>
internal sealed partial class ServerHistogram
{
    private readonly SortedDictionary<double, double> _cumulative;

    private ServerHistogram(SortedDictionary<double, double> cumulative) => _cumulative = cumulative;

    /// <summary>The buckets of <paramref name="metric"/> (its Prometheus name, without <c>_bucket</c>) at <paramref name="server"/>.</summary>
    public static async Task<ServerHistogram> Read(Uri server, string metric)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var text = await http.GetStringAsync(new Uri(server, "/metrics"));
        var cumulative = new SortedDictionary<double, double>();
        foreach (Match match in Bucket().Matches(text))
        {
            if (match.Groups["name"].Value != metric)
            {
                continue;
            }

            var bound = match.Groups["le"].Value == "+Inf" ? double.PositiveInfinity : double.Parse(match.Groups["le"].Value, CultureInfo.InvariantCulture);
            cumulative[bound] = cumulative.GetValueOrDefault(bound) + double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
        }

        return new ServerHistogram(cumulative);
    }

    /// <summary>Between <paramref name="before"/> and this reading: the count, and for each quantile the upper bound (ms) of the bucket it
    /// falls in, e.g. "300 acks: p50 ≤ 1 ms, p99 ≤ 7.5 ms; 4 over 5 ms".</summary>
    public string QuantilesSince(ServerHistogram before, string what, double overMs)
    {
        ArgumentNullException.ThrowIfNull(before);
        var culture = CultureInfo.InvariantCulture;
        var bounds = _cumulative.Keys.ToList();
        double Count(double bound) => _cumulative.GetValueOrDefault(bound) - before._cumulative.GetValueOrDefault(bound);
        var total = bounds.Count == 0 ? 0 : Count(bounds[^1]);
        if (total <= 0)
        {
            return $"no {what} recorded";
        }

        string Upper(double quantile)
        {
            foreach (var bound in bounds)
            {
                if (Count(bound) >= quantile * total)
                {
                    return double.IsPositiveInfinity(bound) ? "above the last bucket" : string.Create(culture, $"≤ {bound * 1000:0.###} ms");
                }
            }

            return "?";
        }

        var within = bounds.Where(b => b * 1000 <= overMs).Select(Count).DefaultIfEmpty(0).Max();
        return string.Create(culture, $"{total:0} {what}: p50 {Upper(0.5)}, p99 {Upper(0.99)}; {total - within:0} over {overMs:0.#} ms");
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)_bucket\{(?:[^}]*,)?le=""(?<le>[^""]+)""[^}]*\} (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Bucket();
}
