using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;

namespace MitTts.Silo;

/// <summary>Runs a server process's host to its end, and turns a start that fails into an exit code.</summary>
public static class HostRunner
{
    /// <summary>Builds the host with <paramref name="build"/> and runs it (<see cref="Run(WebApplication)"/>). A setting refused while the
    /// host is built (no JWT secret on a public address, a short one, an unknown log level) is the same failure to start: exit code 1
    /// and one line on standard error, not an abort.</summary>
    public static async Task<int> Run(Func<WebApplication> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        WebApplication app;
        try
        {
            app = build();
        }
        catch (Exception e)
        {
            await CouldNotStart(e);
            return 1;
        }

        return await Run(app);
    }

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
            await CouldNotStart(e);
            return 1;
        }
    }

    private static Task CouldNotStart(Exception e) => Console.Error.WriteLineAsync($"mittts: the server could not start: {e.GetBaseException().Message}");
}
