using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace MitTts.Bench.Load;

/// <summary>The rows of the results table: a figure, the reference measured in the same run, how they compare, and the target.</summary>
internal sealed class ResultTable
{
    private readonly List<string> _rows = [];
    private readonly List<string> _notes = [];

    private static CultureInfo Culture => CultureInfo.InvariantCulture;

    /// <summary>A latency row: percentiles in ms, the reference's percentiles, and the difference (ours − reference).</summary>
    public void Latency(string scenario, string measure, Percentiles ours, Percentiles? reference, string target, bool? met)
    {
        var vs = reference is { } r
            ? string.Create(Culture, $"p50 {r.P50:0.00} / p99 {r.P99:0.00}")
            : "–";
        var delta = reference is { } d
            ? string.Create(Culture, $"+{ours.P50 - d.P50:0.00} / +{ours.P99 - d.P99:0.00} ms ({ours.P50 / d.P50:0.0}x / {ours.P99 / d.P99:0.0}x)")
            : "–";
        Add(scenario, measure, ours.Count.ToString(Culture), Ms(ours.P50), Ms(ours.P95), Ms(ours.P99), vs, delta, target, met);
    }

    /// <summary>A single-figure row (throughput, capacity, memory) with its reference and ratio.</summary>
    public void Figure(string scenario, string measure, string value, string reference, string ratio, string target, bool? met) =>
        Add(scenario, measure, "–", value, "–", "–", reference, ratio, target, met);

    public void Note(string note) => _notes.Add(note);

    private void Add(string scenario, string measure, string n, string p50, string p95, string p99, string reference, string ratio, string target, bool? met)
    {
        var verdict = met switch { true => "met", false => "**missed**", null => "–" };
        _rows.Add($"| {scenario} | {measure} | {n} | {p50} | {p95} | {p99} | {reference} | {ratio} | {target} | {verdict} |");
    }

    private static string Ms(double value) => double.IsNaN(value) ? "–" : value.ToString("0.00", Culture);

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine("| scenario | measure | n | p50 (ms) | p95 (ms) | p99 (ms) | reference, same run | vs reference | target | |");
        text.AppendLine("|---|---|---:|---:|---:|---:|---|---|---|---|");
        foreach (var row in _rows)
        {
            text.AppendLine(row);
        }

        if (_notes.Count > 0)
        {
            text.AppendLine();
            foreach (var note in _notes)
            {
                text.AppendLine(Culture, $"- {note}");
            }
        }

        return text.ToString();
    }
}

/// <summary>What the numbers were measured on.</summary>
internal static class MachineInfo
{
    public static string Describe()
    {
        var cpu = ReadField("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString();
        var memory = ReadField("/proc/meminfo", "MemTotal") is { } total && long.TryParse(total.Split(' ')[0], CultureInfo.InvariantCulture, out var kb)
            ? string.Create(CultureInfo.InvariantCulture, $"{kb / 1024.0 / 1024.0:0.0} GiB RAM")
            : "RAM unknown";
        return $"{Environment.ProcessorCount} cores ({cpu}), {memory}, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}";
    }

    private static string? ReadField(string path, string name)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith(name, StringComparison.Ordinal) && line.IndexOf(':', StringComparison.Ordinal) is var colon and > 0)
            {
                return line[(colon + 1)..].Trim();
            }
        }

        return null;
    }
}
