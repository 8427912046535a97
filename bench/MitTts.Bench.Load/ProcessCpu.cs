using System.Diagnostics;
using System.Globalization;

namespace MitTts.Bench.Load;

/// <summary>CPU time of named processes (each with its direct children, so nginx's workers count with their master) and Redis's command
/// count, read before and after a load so each can be given per request.</summary>
internal static class ProcessCpu
{
    private static readonly double s_ticksPerSecond = 100; // USER_HZ: 100 on every Linux this runs on

    /// <summary>Seconds of CPU (user + system) each process and its direct children have used so far.</summary>
    public static Dictionary<string, double> Read(IReadOnlyDictionary<string, int> processes)
    {
        var children = ChildrenByParent();
        var seconds = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (name, pid) in processes)
        {
            var ticks = Ticks(pid);
            foreach (var child in children.GetValueOrDefault(pid, []))
            {
                ticks += Ticks(child);
            }

            seconds[name] = ticks / s_ticksPerSecond;
        }

        return seconds;
    }

    /// <summary>Commands Redis on <paramref name="port"/> has processed since it started (<c>INFO stats</c>), or -1 when it cannot be asked.</summary>
    public static async Task<long> RedisCommands(int port)
    {
        var start = new ProcessStartInfo("redis-cli", ["-p", port.ToString(CultureInfo.InvariantCulture), "INFO", "stats"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        foreach (var line in output.Split('\n'))
        {
            if (line.StartsWith("total_commands_processed:", StringComparison.Ordinal)
                && long.TryParse(line.AsSpan("total_commands_processed:".Length).Trim(), CultureInfo.InvariantCulture, out var count))
            {
                return count;
            }
        }

        return -1;
    }

    /// <summary>Seconds of CPU (user + system) process <paramref name="pid"/> has used so far, and those of its threads named
    /// <paramref name="thread"/> (e.g. the engine's); (0, 0) once it has ended.</summary>
    public static (double Process, double Thread) OfThread(int pid, string thread)
    {
        long threadTicks = 0;
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') == thread)
                {
                    threadTicks += StatTicks(Path.Combine(task, "stat"));
                }
            }
        }
        catch (IOException)
        {
        }

        return (Ticks(pid) / s_ticksPerSecond, threadTicks / s_ticksPerSecond);
    }

    /// <summary>Waits until process <paramref name="pid"/> uses under 5 % of a core (or 20 s have passed).</summary>
    /// <remarks>Tier-1 compilation goes on in the background after the calls that asked for it: a warm-up is over once it has.</remarks>
    public static async Task WaitUntilQuiet(int pid)
    {
        var deadline = Stopwatch.GetTimestamp() + (20 * Stopwatch.Frequency);
        var before = Ticks(pid) / s_ticksPerSecond;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(500);
            var now = Ticks(pid) / s_ticksPerSecond;
            if (now - before < 0.025)
            {
                return;
            }

            before = now;
        }
    }

    private static long Ticks(int pid) => StatTicks($"/proc/{pid}/stat");

    private static long StatTicks(string path)
    {
        try
        {
            // Fields after the command name (which may hold spaces, so it is skipped by its closing parenthesis): utime is field 14, stime 15.
            var stat = File.ReadAllText(path);
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static Dictionary<int, List<int>> ChildrenByParent()
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                if (!children.TryGetValue(parent, out var list))
                {
                    children[parent] = list = [];
                }

                list.Add(pid);
            }
            catch (IOException)
            {
            }
        }

        return children;
    }
}
