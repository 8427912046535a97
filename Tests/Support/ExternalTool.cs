using System.Diagnostics;

namespace MitTts.Tests.Support;

/// <summary>Runs a program of the machine (ffprobe, espeak-ng) and returns what it printed.</summary>
public static class ExternalTool
{
    public static async Task<(string Stdout, byte[] StdoutBytes, string Stderr)> Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start.");
        using var stdout = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        await copy;
        var errors = await stderr;
        Assert.True(process.ExitCode == 0, $"{program} exited {process.ExitCode}: {errors}");
        var bytes = stdout.ToArray();
        return (System.Text.Encoding.UTF8.GetString(bytes), bytes, errors);
    }

    /// <summary>ffprobe's reading of a media file: format name, codec, sample rate, channels and duration (NaN when the file does not say).</summary>
    public static async Task<FfprobeResult> Ffprobe(byte[] media, string extension)
    {
        var path = Path.Combine(Path.GetTempPath(), $"mittts-{Guid.NewGuid():N}.{extension}");
        await File.WriteAllBytesAsync(path, media);
        try
        {
            var (output, _, _) = await Run(
                "ffprobe", "-v", "error", "-show_entries", "format=format_name,duration:stream=codec_name,sample_rate,channels", "-of", "default=noprint_wrappers=1", path);
            var values = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split('=', 2))
                .Where(parts => parts.Length == 2)
                .ToDictionary(parts => parts[0], parts => parts[1].Trim());
            return new FfprobeResult(
                values["format_name"],
                values["codec_name"],
                int.Parse(values["sample_rate"], System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(values["channels"], System.Globalization.CultureInfo.InvariantCulture),
                // A stream that does not state its length up front (a streamed FLAC) has none: N/A.
                values["duration"] == "N/A" ? double.NaN : double.Parse(values["duration"], System.Globalization.CultureInfo.InvariantCulture));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

public sealed record FfprobeResult(string FormatName, string CodecName, int SampleRate, int Channels, double DurationSeconds);
