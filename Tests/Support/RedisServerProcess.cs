using System.Diagnostics;
using System.Globalization;

namespace MitTts.Tests.Support;

/// <summary>A throwaway redis-server on a free loopback port, without persistence, killed on dispose.</summary>
public sealed class RedisServerProcess : IDisposable
{
    private readonly Process _process;
    private bool _disposed;

    private RedisServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Starts redis-server with <paramref name="arguments"/> added, and waits until it accepts connections.</summary>
    public static Task<RedisServerProcess> Start(params string[] arguments) => StartOn(FreePort.Next(), arguments);

    /// <summary>Starts redis-server on <paramref name="port"/> (a new one where an earlier one was killed, say).</summary>
    public static async Task<RedisServerProcess> StartOn(int port, params string[] arguments)
    {
        var start = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in (string[])["--bind", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        while (await process.StandardOutput.ReadLineAsync() is { } line && !line.Contains("Ready to accept connections", StringComparison.Ordinal))
        {
        }

        return new RedisServerProcess(process, port);
    }

    /// <summary>Kills the server; a second call (a test that killed it itself, then left its scope) does nothing.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        _process.Dispose();
    }
}
