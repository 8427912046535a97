using System.Diagnostics;
using System.Globalization;

namespace MitTts.Tests.Cluster;

/// <summary>One process of the test cluster (redis-server, a silo, a gateway, nginx), its output in a log file.</summary>
public sealed class ClusterProcess(string name, string fileName, IReadOnlyList<string> arguments, string workingDirectory, string logPath,
    IReadOnlyDictionary<string, string>? environment = null) : IDisposable
{
    private Process? _process;
    private StreamWriter? _log;

    public string Name { get; } = name;

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>When this process was last started.</summary>
    public DateTimeOffset StartedAt { get; private set; }

    public void Start()
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        _log?.Dispose();
        _log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var log = _log;
        StartedAt = DateTimeOffset.UtcNow;
        _process = Process.Start(start) ?? throw new InvalidOperationException($"{Name} did not start.");
        _process.OutputDataReceived += (_, e) => Write(log, e.Data);
        _process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>SIGKILL: no shutdown, no goodbye to the cluster, as when a machine dies.</summary>
    public async Task Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>SIGTERM and wait for a clean exit (SIGKILL after <paramref name="grace"/>).</summary>
    public async Task Stop(TimeSpan grace)
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            await Kill();
        }
    }

    public string ReadLog() => File.Exists(logPath) ? File.ReadAllText(logPath) : string.Empty;

    /// <summary>Whether one line of the log holds every one of <paramref name="words"/> (logs are JSON lines, where a message's values
    /// are quoted, so a phrase like "silo-a died" is not matched whole).</summary>
    public bool Logged(params string[] words) =>
        ReadLog().Split('\n').Any(line => words.All(word => line.Contains(word, StringComparison.Ordinal)));

    public void Dispose()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }

        _process?.Dispose();
        _log?.Dispose();
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // The process outlived its log by a line; nothing to keep.
            }
        }
    }
}
