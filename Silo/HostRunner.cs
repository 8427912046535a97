using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;

namespace MitTts.Silo;

/// <summary>Runs a server process's host to its end, and turns a start that fails into an exit code.</summary>
public static class HostRunner
{
    /// <summary>0 when the host ran and stopped; 1, with one line on standard error, when it could not start (a port in use, a
    /// setting the host refused). Such an exception left to the runtime aborts the process (SIGABRT, a core dump, a stack trace)
    /// after the host has already logged why.</summary>
    public static async Task<int> Run(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // Read before the run: RunAsync disposes the host, its services with it, when it ends either way.
        var started = app.Lifetime.ApplicationStarted;
        try
        {
            await app.RunAsync();
            return 0;
        }
        catch (Exception e) when (!started.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync($"mittts: the server could not start: {e.GetBaseException().Message}");
            return 1;
        }
    }
}
