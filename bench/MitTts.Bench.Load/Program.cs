using System.Diagnostics;
using System.Globalization;
using MitTts.Bench.Load;

// Usage: dotnet run -c Release --project bench/MitTts.Bench.Load -- [SCENARIO ...] [--url http://host:8000] [options]
// SCENARIO: first-audio first-turn interrupt capacity throughput connections naive (all seven when none is named); scheduling, cluster, soak,
// soak-cluster, neural, queue and first-audio-ab (with --compare-with OTHER_BUILD_PROGRAM) only when named.
// Without --url it starts the embedded server on free loopback ports: in a child process for the streaming scenarios (in this process
// with --in-process), in this process for the scheduling and cluster scenarios. cluster --cluster-latency-only: the first-audio and first-turn
// rows alone (2 silos), for a quick A/B of the cluster path.
var options = BenchOptions.Parse(args);
if (options.Scenarios.Contains("serve"))
{
    await ServerProcess.Serve(options);
    return;
}

var machine = MachineInfo.Describe();
var command = "dotnet run -c Release --project bench/MitTts.Bench.Load" + (args.Length > 0 ? " -- " + string.Join(' ', args) : "");
Directory.CreateDirectory(options.ResultsFolder);
if (options.Scenarios.Contains("soak"))
{
    var report = await new SoakScenario(options, machine, command).RunEmbedded();
    Console.WriteLine(report);
    await File.WriteAllTextAsync(Path.Combine(options.ResultsFolder, "soak.md"), report);
}

if (options.Scenarios.Contains("soak-cluster"))
{
    var report = await new SoakScenario(options, machine, command).RunCluster();
    Console.WriteLine(report);
    await File.WriteAllTextAsync(Path.Combine(options.ResultsFolder, "soak-cluster.md"), report);
}

if (options.Scenarios.Contains("neural"))
{
    var report = await new NeuralScenario(options).Run(machine, command);
    Console.WriteLine(report);
    await File.WriteAllTextAsync(Path.Combine(options.ResultsFolder, options.OnnxDevice.StartsWith("cuda", StringComparison.OrdinalIgnoreCase) ? "neural-cuda.md" : "neural.md"), report);
}

if (options.Scenarios.Contains("queue"))
{
    var output = $"## MitTts synthesizer queue, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC\n\nMachine: {machine}.\n\nCommand: `{command}`\n\n{QueueScenario.Run()}";
    Console.WriteLine(output);
    await File.WriteAllTextAsync(Path.Combine(options.ResultsFolder, "queue.md"), output);
}

if (options.Scenarios.Contains("first-audio-ab"))
{
    var abTable = new ResultTable();
    await new FirstAudioAbScenario(options.CompareWith ?? throw new ArgumentException("first-audio-ab needs --compare-with PROGRAM"), options, abTable).Run();
    var output = $"## MitTts first audio, A/B, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC\n\nMachine: {machine}.\n\nCommand: `{command}`\n\n{abTable.ToMarkdown()}";
    Console.WriteLine(output);
    await File.WriteAllTextAsync(Path.Combine(options.ResultsFolder, "first-audio-ab.md"), output);
}

// The soaks run their own servers; start the embedded one only for what else was named.
if (!options.Scenarios.Overlaps(["scheduling", "cluster", .. BenchOptions.StreamingScenarios]))
{
    return;
}

await using var embedded = options.Url is null && (options.InProcess || options.Scenarios.Overlaps(["scheduling", "cluster"]))
    ? await EmbeddedServer.Start(settings: BenchOptions.StreamingServerSettings)
    : null;
var server = options.Url ?? embedded?.BaseAddress;

if (options.Scenarios.Contains("scheduling"))
{
    using var client = new HttpClient { BaseAddress = server!, Timeout = TimeSpan.FromMinutes(5) };
    var report = await new SchedulingScenario(client, options.Seconds, options.Overload).Run();
    var output = $"## MitTts load benchmark, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC\n\nMachine: {machine}.\n\nCommand: `{command}`\n\n{report}";
    Console.WriteLine(output);
    await File.WriteAllTextAsync(Path.Combine(options.ResultsFolder, "scheduling.md"), output);
}

if (options.Scenarios.Contains("cluster"))
{
    var clusterTable = new ResultTable();
    var clusterClock = Stopwatch.StartNew();
    await new ClusterScenario(server!, options, clusterTable).Run();
    var output = string.Join('\n',
        $"## MitTts cluster benchmark (issue 6), {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC",
        "",
        $"Machine: {machine}.",
        "",
        string.Create(CultureInfo.InvariantCulture, $"Everything on this machine: the clusters (`scripts/cluster.sh`: Redis, silos, 2 client gateways, nginx), the embedded "
            + $"reference server (in the benchmark's process, audio cache off) and the clients. Wall time {clusterClock.Elapsed.TotalSeconds:0} s."),
        "",
        $"Command: `{command}`",
        "",
        clusterTable.ToMarkdown());
    Console.WriteLine(output);
    await File.WriteAllTextAsync(Path.Combine(options.ResultsFolder, "cluster.md"), output);
}

var streaming = BenchOptions.StreamingScenarios.Where(options.Scenarios.Contains).ToList();
if (streaming.Count == 0)
{
    return;
}

// The streaming scenarios' server runs as deployed: its own process (`serve`), with the shipped gateway's GC settings, so the clients
// here share neither its thread pool nor its heap. --in-process keeps it in this process instead.
await using var child = options.Url is null && !options.InProcess
    ? await ServerProcess.Start(settings: BenchOptions.StreamingServerSettings, serverGc: true, environment: options.ServerEnvironment)
    : null;
var streamingServer = options.Url ?? child?.BaseAddress ?? server!;
var table = new ResultTable();
var clock = Stopwatch.StartNew();
ThroughputScenario.Load? throughput = null;
foreach (var scenario in streaming)
{
    Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] {scenario}");
    var gcBefore = child is null ? default : await child.Gc();
    switch (scenario)
    {
        case "first-audio": await new FirstAudioScenario(streamingServer, options, table, child?.Pid, child).Run(); break;
        case "interrupt": await new InterruptScenario(streamingServer, options, table).Run(); break;
        case "capacity": await new CapacityScenario(streamingServer, options, table, child?.Pid).Run(); break;
        case "throughput": throughput = await new ThroughputScenario(streamingServer, options, table).Run(); break;
        case "connections": await new ConnectionsScenario(options.Url, options, table).Run(); break;
        case "naive": await new NaiveScenario(streamingServer, options, table).Run(throughput); break;
        case "first-turn": await new FirstTurnScenario(table, options.FirstAudioSamples / 2).Run(streamingServer, child?.Pid); break;
    }

    if (child is not null)
    {
        table.Note($"Server GC during {scenario}: {await child.Gc() - gcBefore}.");
    }
}

var culture = CultureInfo.InvariantCulture;
var results = string.Join('\n',
    $"## MitTts streaming benchmark, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC",
    "",
    $"Machine: {machine}.",
    "",
    $"Server: {(options.Url is not null ? options.Url.ToString() : options.InProcess ? "the embedded default (gateway + silo + espeak-ng) in the benchmark's process" : "the embedded default (gateway + silo + espeak-ng) in its own process (`serve`), with the shipped gateway's GC and JIT settings (server GC, non-concurrent, ConserveMemory 5, large objects from 1 MiB; no dynamic PGO)")}, "
        + $"audio cache off, `{string.Join(' ', BenchOptions.StreamingServerSettings)}`; "
        + string.Create(culture, $"clients on loopback in the benchmark's process. Wall time {clock.Elapsed.TotalSeconds:0} s."),
    "",
    $"Command: `{command}`",
    "",
    "Every reference was measured in the same run and process, alternating with the server where the note says so; the machine is shared "
        + "and noisy, so read ratios and differences, not absolute values.",
    "",
    table.ToMarkdown());
Console.WriteLine(results);
await File.WriteAllTextAsync(Path.Combine(options.ResultsFolder, "latest.md"), results);

/// <summary>Command-line options; every count and duration has a default sized for a run of about five minutes.</summary>
internal sealed record BenchOptions
{
    public static readonly string[] StreamingScenarios = ["first-audio", "first-turn", "interrupt", "capacity", "throughput", "connections", "naive"];

    public HashSet<string> Scenarios { get; init; } = [];

    public Uri? Url { get; init; }

    /// <summary>The other build's program for <c>first-audio-ab</c>.</summary>
    public string? CompareWith { get; init; }

    public string ResultsFolder { get; init; } = Path.Combine("bench", "results");

    /// <summary>Concurrent sessions in the first-audio, interrupt and naive scenarios.</summary>
    public int Sessions { get; init; } = 50;

    public int FirstAudioSamples { get; init; } = 300;

    public int FirstAudioPerSession { get; init; } = 5;

    public int FirstAudioRounds { get; init; } = 2;

    public int InterruptRounds { get; init; } = 3;

    /// <summary>Rounds of the neural scenario's sentences per engine (after one warm-up).</summary>
    public int NeuralRounds { get; init; } = 20;

    /// <summary>Rounds for the models of realistic size (built or real), whose sentences take seconds each.</summary>
    public int NeuralBuiltRounds { get; init; } = 5;

    /// <summary>Threads per ONNX inference in the neural scenario (0: every core).</summary>
    public int OnnxThreads { get; init; } = 1;

    /// <summary>Where the neural scenario runs its models: <c>cpu</c>, or <c>cuda:N</c> (then each model is also compared with a CPU session).</summary>
    public string OnnxDevice { get; init; } = "cpu";

    /// <summary>A folder of real Piper/Kokoro models for the neural scenario to measure beside the built ones.</summary>
    public string? ModelsFolder { get; init; }

    public double CapacitySeconds { get; init; } = 6;

    public int LookaheadMs { get; init; } = 1000;

    public int CapacityMax { get; init; } = 1024;

    public int CapacityMaxTrials { get; init; } = 7;

    /// <summary>The formats the capacity scenario searches, in order.</summary>
    public IReadOnlyList<string> CapacityFormats { get; init; } = ["pcm", "mp3", "ogg"];

    public int Clients { get; init; } = 100;

    public double ThroughputSeconds { get; init; } = 8;

    public int Connections { get; init; } = 1000;

    public int NaiveSamples { get; init; } = 100;

    public double Seconds { get; init; } = 10;

    public double Overload { get; init; } = 1.5;

    public double SoakSeconds { get; init; } = 600;

    public int RestClients { get; init; } = 100;

    public int WebSocketSessions { get; init; } = 50;

    /// <summary>Server configuration (<c>section:key=value</c>) for the servers the soaks start, e.g. <c>tts:result_ttl_seconds=60</c>.</summary>
    public IReadOnlyList<string> ServerArgs { get; init; } = [];

    /// <summary>Environment variables (<c>NAME=VALUE</c>) for the soak's server process, e.g. GC settings to compare
    /// (<c>DOTNET_gcServer=0</c>, <c>DOTNET_GCDynamicAdaptationMode=0</c>).</summary>
    public IReadOnlyList<string> ServerEnvironment { get; init; } = [];

    /// <summary><c>serve</c>: keep the audio cache at its default size.</summary>
    public bool AudioCache { get; init; }

    /// <summary>Run the streaming scenarios' server in this process rather than in a child process.</summary>
    public bool InProcess { get; init; }

    /// <summary><c>cluster</c>: only the latency rows (first audio and first turn with 2 silos), without the throughput runs and their
    /// warm-up: a quick A/B of the cluster path.</summary>
    public bool ClusterLatencyOnly { get; init; }

    /// <summary>Server settings for the streaming scenarios: the capacity trials start hundreds of streams within half a second, and the
    /// default admission limit (500 jobs per priority level) would refuse them before the engine's capacity is reached.</summary>
    public static readonly string[] StreamingServerSettings = ["scheduling:max_queue_per_level=4096"];

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        var scenarios = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            options = args[i] switch
            {
                "--url" => options with { Url = new Uri(Next()) },
                "--results" => options with { ResultsFolder = Next() },
                "--compare-with" => options with { CompareWith = Next() },
                "--sessions" => options with { Sessions = Int() },
                "--samples" => options with { FirstAudioSamples = Int() },
                "--samples-per-session" => options with { FirstAudioPerSession = Int() },
                "--rounds" => options with { FirstAudioRounds = Int() },
                "--interrupt-rounds" => options with { InterruptRounds = Int() },
                "--neural-rounds" => options with { NeuralRounds = Int() },
                "--neural-built-rounds" => options with { NeuralBuiltRounds = Int() },
                "--onnx-threads" => options with { OnnxThreads = Int() },
                "--onnx-device" => options with { OnnxDevice = Next() },
                "--models" => options with { ModelsFolder = Next() },
                "--capacity-seconds" => options with { CapacitySeconds = Double() },
                "--lookahead-ms" => options with { LookaheadMs = Int() },
                "--capacity-max" => options with { CapacityMax = Int() },
                "--capacity-trials" => options with { CapacityMaxTrials = Int() },
                "--capacity-formats" => options with { CapacityFormats = Next().Split(',') },
                "--clients" => options with { Clients = Int() },
                "--throughput-seconds" => options with { ThroughputSeconds = Double() },
                "--connections" => options with { Connections = Int() },
                "--naive-samples" => options with { NaiveSamples = Int() },
                "--seconds" => options with { Seconds = Double() },
                "--overload" => options with { Overload = Double() },
                "--soak-seconds" => options with { SoakSeconds = Double() },
                "--rest-clients" => options with { RestClients = Int() },
                "--ws-sessions" => options with { WebSocketSessions = Int() },
                "--server-arg" => options with { ServerArgs = [.. options.ServerArgs, Next()] },
                "--server-env" => options with { ServerEnvironment = [.. options.ServerEnvironment, Next()] },
                "--audio-cache" => options with { AudioCache = true },
                "--in-process" => options with { InProcess = true },
                "--cluster-latency-only" => options with { ClusterLatencyOnly = true },
                var name when !name.StartsWith("--", StringComparison.Ordinal) && (StreamingScenarios.Contains(name) || name is "scheduling" or "cluster" or "first-audio-ab" or "soak" or "soak-cluster" or "serve" or "neural" or "queue" or "all")
                    => Add(name),
                var other => throw new ArgumentException($"Unknown argument '{other}'."),
            };

            string Next()
            {
                i++;
                return value ?? throw new ArgumentException($"{args[i - 1]} needs a value.");
            }

            int Int() => int.Parse(Next(), CultureInfo.InvariantCulture);

            double Double() => double.Parse(Next(), CultureInfo.InvariantCulture);

            BenchOptions Add(string name)
            {
                if (name == "all")
                {
                    scenarios.UnionWith(StreamingScenarios);
                }
                else
                {
                    scenarios.Add(name);
                }

                return options;
            }
        }

        if (scenarios.Count == 0)
        {
            scenarios.UnionWith(StreamingScenarios);
        }

        return options with { Scenarios = scenarios };
    }
}
