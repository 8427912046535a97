using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace MitTts.Bench.Load;

/// <summary>A process whose memory the soak samples: its resident set from <c>/proc</c>, and its GC's figures when it can tell them.</summary>
internal sealed record WatchedProcess(string Name, int Pid, Func<Task<GcFigures>>? Gc = null);

/// <summary>One sample: seconds since the load started, the phase (<c>start</c>, <c>load</c>, <c>drain</c>: requests in flight finishing,
/// <c>after</c>), each watched process's RSS in MB (NaN once it is gone), the first one's GC figures, Redis's <c>used_memory</c> in MB.</summary>
internal sealed record SoakSample(double Seconds, string Phase, double[] RssMb, GcFigures? Gc, double? RedisMb, SoakCounters Counters);

/// <summary>The soak: <see cref="SoakLoad"/> for <see cref="BenchOptions.SoakSeconds"/> against the embedded default server in a child process
/// (<c>soak</c>) or a local cluster of 2 silos, 2 gateways and nginx (<c>soak-cluster</c>); memory sampled every 10 s, and for 30 s after the
/// last request finished, to see whether it plateaus under load and comes back after it.</summary>
internal sealed class SoakScenario(BenchOptions options, string machine, string command)
{
    private const double PlateauGrowth = 0.05;
    private const double PeakLimitMb = 1536;
    private static readonly TimeSpan s_interval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_after = TimeSpan.FromSeconds(30);

    private static CultureInfo Culture => CultureInfo.InvariantCulture;

    /// <summary>The embedded default (gateway + co-hosted silo + espeak-ng) in a child process: audio cache at its default, Server GC as the
    /// shipped gateway runs, and the <c>--server-arg</c> settings.</summary>
    public async Task<string> RunEmbedded()
    {
        await using var server = await ServerProcess.Start(audioCache: true, options.ServerArgs, serverGc: true, options.ServerEnvironment);
        var watched = new[] { new WatchedProcess("server", server.Pid, server.Heap) };
        var (samples, load, finished) = await Soak(server.BaseAddress, watched, redisPort: null);
        var settings = options.ServerArgs.Count + options.ServerEnvironment.Count == 0 ? "none"
            : string.Join(", ", options.ServerArgs.Concat(options.ServerEnvironment).Select(a => $"`{a}`"));
        return Report("MitTts soak (embedded server)",
            "the embedded default (gateway + co-hosted silo + espeak-ng) in a child process (`serve`): default settings, audio cache at its default, "
            + $"Server GC as the shipped gateway; extra settings (`--server-arg`, `--server-env`): {settings}. The clients run in the benchmark's process.",
            watched, samples, load, finished);
    }

    /// <summary><c>scripts/cluster.sh</c> with 2 silos, 2 client gateways and nginx; every silo's and gateway's RSS and Redis's memory.</summary>
    public async Task<string> RunCluster()
    {
        // The bench's own build (Release) built the silo and the gateway; build them only when they are missing.
        var built = File.Exists(Path.Combine("Silo", "bin", "Release", "net10.0", "MitTts.Silo.dll"))
            && File.Exists(Path.Combine("Gateway", "bin", "Release", "net10.0", "MitTts.Gateway.dll"));
        var environment = options.ServerArgs.ToDictionary(
            a => a.TrimStart('-').Split('=', 2)[0].Replace(":", "__", StringComparison.Ordinal),
            a => a.Split('=', 2) is [_, var value] ? value : "",
            StringComparer.Ordinal);
        foreach (var (name, value) in ServerProcess.Variables(options.ServerEnvironment))
        {
            // Reaches the cluster script and every process it starts (e.g. MITTTS_REDIS_MAXMEMORY=64mb).
            environment[name] = value;
        }

        await using var cluster = await LocalCluster.Start(2, build: !built, name: "soak", audioCache: true, environment);
        var processes = cluster.Processes();
        var watched = processes.Where(p => p.Key.StartsWith("silo-", StringComparison.Ordinal) || p.Key.StartsWith("gateway-", StringComparison.Ordinal))
            .Select(p => new WatchedProcess(p.Key, p.Value))
            .ToArray();
        var (samples, load, finished) = await Soak(LocalCluster.Balancer, watched, LocalCluster.RedisPort);
        return Report("MitTts soak (cluster)",
            $"`{cluster.Command}`: 2 silos, 2 client gateways and nginx on this machine, audio cache at its default; the clients (in the benchmark's process) "
            + "go through nginx. Extra settings (`--server-arg`, passed as `section__key` variables, and `--server-env`): "
            + (environment.Count == 0 ? "none" : string.Join(", ", environment.Select(v => $"`{v.Key}={v.Value}`"))) + ".",
            watched, samples, load, finished);
    }

    private async Task<(List<SoakSample> Samples, SoakLoad Load, double FinishedSeconds)> Soak(Uri server, WatchedProcess[] watched, int? redisPort)
    {
        var load = new SoakLoad(server, options.RestClients, options.WebSocketSessions);
        var samples = new List<SoakSample> { await Sample(0, "start", watched, redisPort, load) };
        Print(samples[^1], watched);

        var loadSeconds = options.SoakSeconds;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(loadSeconds));
        var clock = Stopwatch.StartNew();
        var running = load.Run(stop.Token);
        var finished = FinishedAt(running, clock);
        using var timer = new PeriodicTimer(s_interval);
        while (await timer.WaitForNextTickAsync())
        {
            var seconds = clock.Elapsed.TotalSeconds;
            var phase = seconds < loadSeconds + 1 ? "load" : finished.IsCompleted ? "after" : "drain";
            samples.Add(await Sample(seconds, phase, watched, redisPort, load));
            Print(samples[^1], watched);

            // Ticks come every 10 s from the start, so allow a second's slack rather than sample 10 s longer than asked.
            if (finished.IsCompleted && clock.Elapsed >= finished.Result + s_after - TimeSpan.FromSeconds(1))
            {
                break;
            }
        }

        await running;
        return (samples, load, (await finished).TotalSeconds);
    }

    /// <summary>When the last request of the load finished, on <paramref name="clock"/>.</summary>
    private static async Task<TimeSpan> FinishedAt(Task running, Stopwatch clock)
    {
        await running.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return clock.Elapsed;
    }

    private static async Task<SoakSample> Sample(double seconds, string phase, WatchedProcess[] watched, int? redisPort, SoakLoad load)
    {
        var rss = watched.Select(p => ResidentMb(p.Pid)).ToArray();
        GcFigures? gc = watched[0].Gc is { } read ? await read() : null;
        double? redis = redisPort is { } port ? await RedisUsedMb(port) : null;
        return new SoakSample(seconds, phase, rss, gc, redis, load.Counters);
    }

    private static void Print(SoakSample sample, WatchedProcess[] watched)
    {
        var memory = string.Join(", ", watched.Select((p, i) => string.Create(Culture, $"{p.Name} {sample.RssMb[i]:0} MB")));
        var gc = sample.Gc is { } g ? string.Create(Culture, $" (GC heap {Mb(g.HeapBytes):0} MB, gen2 {g.Gen2Collections})") : "";
        var redis = sample.RedisMb is { } r ? string.Create(Culture, $", redis {r:0} MB") : "";
        var c = sample.Counters;
        Console.Error.WriteLine(string.Create(Culture,
            $"[soak {sample.Seconds,4:0} s {sample.Phase,-5}] RSS {memory}{gc}{redis}; {c.Requests} requests, {c.AudioSeconds:0} audio-s, {c.Failures} failed, {c.Busy} busy"));
    }

    /// <summary>VmRSS of <c>/proc/PID/status</c>, in MB; NaN when the process is gone.</summary>
    private static double ResidentMb(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
                }
            }
        }
        catch (IOException)
        {
        }

        return double.NaN;
    }

    /// <summary>Redis's <c>used_memory</c> (<c>redis-cli info memory</c>), in MB; NaN when it does not answer.</summary>
    private static async Task<double> RedisUsedMb(int port)
    {
        var start = new ProcessStartInfo("redis-cli", ["-p", port.ToString(Culture), "info", "memory"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not run redis-cli");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        foreach (var line in output.Split('\n'))
        {
            if (line.StartsWith("used_memory:", StringComparison.Ordinal) && long.TryParse(line["used_memory:".Length..].Trim(), CultureInfo.InvariantCulture, out var bytes))
            {
                return Mb(bytes);
            }
        }

        return double.NaN;
    }

    private static double Mb(long bytes) => bytes / 1048576.0;

    private string Report(string title, string server, WatchedProcess[] watched, List<SoakSample> samples, SoakLoad load, double finished)
    {
        var text = new StringBuilder();
        void Line(string line = "") => text.Append(line).Append('\n');

        var endOfLoad = samples.FindLastIndex(s => s.Phase == "load");
        var half = samples.FindIndex(s => s.Seconds >= options.SoakSeconds / 2);
        var last = samples.Count - 1;
        var counters = samples[endOfLoad].Counters;
        var loadSeconds = samples[endOfLoad].Seconds;

        Line($"## {title}, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Line();
        Line($"Machine: {machine}.");
        Line();
        Line($"Command: `{command}`");
        Line();
        Line($"Server: {server}");
        Line();
        Line(string.Create(Culture, $"Load for {options.SoakSeconds:0} s: {options.RestClients} REST clients in closed loop, each request "
            + $"`POST /api/v1/synthesize?wait=true` ({1 - SoakLoad.PollShare:0%}) or `POST /api/v1/synthesize` → `GET /api/v1/tasks/{{id}}` every "
            + $"{SoakLoad.PollIntervalMs} ms until completed → `GET` its `audio_url` ({SoakLoad.PollShare:0%}), formats {Shares(SoakLoad.RestFormats)}; "
            + $"{options.WebSocketSessions} WebSocket sessions streaming answers back to back (`synthesize`, `stream: true`, until the task's final status), "
            + $"{Shares(SoakLoad.StreamFormats)}, a new session every {SoakLoad.AnswersPerSession} answers. Texts: voice-agent answers of "
            + $"{AgentTexts.MinLength}–{AgentTexts.MaxLength} characters, {AgentTexts.StockShare:0%} stock phrases (the audio cache can answer those), the rest "
            + $"templates filled with names, numbers and times; voices {string.Join(", ", SoakLoad.Voices)}. A 429 (or a `busy` task on the socket) is retried "
            + $"after its Retry-After and counted apart; anything else that is not audio is a failure. Sampled every {s_interval.TotalSeconds:0} s, and "
            + $"{s_after.TotalSeconds:0} s more after the last request finished."));
        Line();

        Line("### Samples");
        Line();
        var header = new List<string> { "t (s)", "phase" };
        header.AddRange(watched.Select(p => watched.Length == 1 ? "RSS MB" : $"{p.Name} RSS MB"));
        var hasGc = samples[0].Gc is not null;
        var hasRedis = samples[0].RedisMb is not null;
        if (hasGc)
        {
            header.AddRange(["GC heap MB", "GC committed MB", "gen2 GCs"]);
        }

        if (hasRedis)
        {
            header.Add("Redis used_memory MB");
        }

        header.AddRange(["requests", "audio s", "failures", "429"]);
        Line($"| {string.Join(" | ", header)} |");
        Line($"|{string.Concat(header.Select((_, i) => i == 1 ? "---|" : "---:|"))}");
        foreach (var s in samples)
        {
            var cells = new List<string> { s.Seconds.ToString("0", Culture), s.Phase };
            cells.AddRange(s.RssMb.Select(v => v.ToString("0", Culture)));
            if (s.Gc is { } gc)
            {
                cells.AddRange([Mb(gc.HeapBytes).ToString("0", Culture), Mb(gc.CommittedBytes).ToString("0", Culture), gc.Gen2Collections.ToString(Culture)]);
            }

            if (s.RedisMb is { } redis)
            {
                cells.Add(redis.ToString("0.0", Culture));
            }

            cells.AddRange([s.Counters.Requests.ToString(Culture), s.Counters.AudioSeconds.ToString("0", Culture), s.Counters.Failures.ToString(Culture),
                s.Counters.Busy.ToString(Culture)]);
            Line($"| {string.Join(" | ", cells)} |");
        }

        Line();
        Line("### Memory");
        Line();
        Line(string.Create(Culture, $"Growth over the last half of the load: from the sample at t = {samples[half].Seconds:0} s to the last under load (t = {loadSeconds:0} s), ")
            + "as two figures: end point against half point (one sample each, so it moves with every collection), and the least-squares line through every sample "
            + "of that half (its value at the end against its value at the start), which the plateau verdict uses. "
            + string.Create(Culture, $"The last request finished at t = {finished:0} s (`drain`: requests in flight finishing); after: the last sample, t = {samples[last].Seconds:0} s."));
        Line();
        Line("| what | start MB | peak MB | half MB | end of load MB | growth over last half, end points | trend over last half | after MB | after vs end of load |");
        Line("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        var series = watched.Select((p, i) => (Name: $"{p.Name} RSS", Values: samples.Select(s => s.RssMb[i]).ToArray())).ToList();
        if (hasGc)
        {
            series.Add(($"{watched[0].Name} GC heap", samples.Select(s => Mb(s.Gc!.Value.HeapBytes)).ToArray()));
        }

        if (hasRedis)
        {
            series.Add(("Redis used_memory", samples.Select(s => s.RedisMb!.Value).ToArray()));
        }

        foreach (var (name, values) in series)
        {
            Line(string.Create(Culture, $"| {name} | {values[0]:0} | {values.Max():0} | {values[half]:0} | {values[endOfLoad]:0} | "
                + $"{Growth(values[half], values[endOfLoad]):+0.0%;-0.0%} | {Trend(samples, values, half, endOfLoad):+0.0%;-0.0%} | {values[last]:0} | {Growth(values[endOfLoad], values[last]):+0.0%;-0.0%} |"));
        }

        Line();
        Line("### Load");
        Line();
        Line(string.Create(Culture, $"Throughput under load: {counters.Requests} requests completed in {loadSeconds:0} s ({counters.Requests / loadSeconds:0.0} per s; "
            + $"{string.Join(", ", load.Completed.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {k.Value}"))} by the end), "
            + $"{counters.AudioSeconds:0} audio seconds ({counters.AudioSeconds / loadSeconds:0.0} audio-s per s)."));
        Line();
        Line(string.Create(Culture, $"429 (busy) answers, retried after their Retry-After: {load.Counters.Busy}."));
        Line();
        var failures = load.Failures.OrderByDescending(f => f.Value).ThenBy(f => f.Key, StringComparer.Ordinal).ToList();
        Line(failures.Count == 0 ? "Failures by code: none." : "Failures by code: " + string.Join("; ", failures.Select(f => $"`{f.Key}` {f.Value}")) + ".");
        Line();

        Line("### Verdicts");
        Line();
        foreach (var (name, values) in series.Where(s => !s.Name.EndsWith("GC heap", StringComparison.Ordinal)))
        {
            var what = watched.Length == 1 && name.EndsWith(" RSS", StringComparison.Ordinal) ? "RSS" : name;
            var growth = Trend(samples, values, half, endOfLoad);
            Line(string.Create(Culture, $"- {what} plateau (trend over last half < {PlateauGrowth:0%}): {YesNo(growth < PlateauGrowth)} ({growth:+0.0%;-0.0%}; end points {Growth(values[half], values[endOfLoad]):+0.0%;-0.0%})"));
            Line(string.Create(Culture, $"- peak {what} < 1.5 GB: {YesNo(values.Max() < PeakLimitMb)} ({values.Max():0} MB)"));
        }

        Line($"- failed requests: {load.Counters.Failures}");
        return text.ToString();
    }

    private static double Growth(double from, double to) => (to - from) / from;

    /// <summary>Growth of the least-squares line through the samples from <paramref name="from"/> to <paramref name="to"/>:
    /// its value at the last sample's time against its value at the first's.</summary>
    private static double Trend(List<SoakSample> samples, double[] values, int from, int to)
    {
        var count = to - from + 1;
        if (count < 2)
        {
            return 0;
        }

        double meanT = 0, meanV = 0;
        for (var i = from; i <= to; i++)
        {
            meanT += samples[i].Seconds;
            meanV += values[i];
        }

        meanT /= count;
        meanV /= count;
        double covariance = 0, variance = 0;
        for (var i = from; i <= to; i++)
        {
            var dt = samples[i].Seconds - meanT;
            covariance += dt * (values[i] - meanV);
            variance += dt * dt;
        }

        var slope = variance == 0 ? 0 : covariance / variance;
        var start = meanV + slope * (samples[from].Seconds - meanT);
        var end = meanV + slope * (samples[to].Seconds - meanT);
        return Growth(start, end);
    }

    private static string YesNo(bool value) => value ? "yes" : "no";

    private static string Shares((string Format, double Share)[] formats) =>
        string.Join(" / ", formats.Select(f => string.Create(Culture, $"{f.Format.ToUpperInvariant()} {f.Share:0%}")));
}
