using System.Globalization;

namespace MitTts.Tests.Observability;

/// <summary>Reads samples out of Prometheus text exposition, for tests that need a server's exact figures now (no scrape interval).</summary>
public static class PrometheusText
{
    /// <summary>The sum of every sample of <paramref name="name"/> whose labels include each of <paramref name="labels"/>
    /// (<c>code="busy"</c>); null when there is none.</summary>
    public static double? Sum(string text, string name, params string[] labels)
    {
        ArgumentNullException.ThrowIfNull(text);
        double? sum = null;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name + " ", StringComparison.Ordinal) && !line.StartsWith(name + "{", StringComparison.Ordinal))
            {
                continue;
            }

            var labelEnd = line.LastIndexOf('}');
            var labelText = labelEnd < 0 ? string.Empty : line[(name.Length + 1)..labelEnd];
            if (!labels.All(label => labelText.Split(',').Contains(label, StringComparer.Ordinal)))
            {
                continue;
            }

            // name{labels} value [timestamp]
            var value = (labelEnd < 0 ? line[(name.Length + 1)..] : line[(labelEnd + 1)..]).Trim().Split(' ')[0];
            sum = (sum ?? 0) + double.Parse(value, CultureInfo.InvariantCulture);
        }

        return sum;
    }

    /// <summary>The metric names of every sample in <paramref name="text"/>.</summary>
    public static IReadOnlySet<string> Names(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Split('\n')
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => line[..line.IndexOfAny([' ', '{'])])
            .ToHashSet(StringComparer.Ordinal);
    }
}
