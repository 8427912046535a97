using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace MitTts.Bench.Load;

/// <summary>A cluster on this machine started by <c>scripts/cluster.sh</c> (Redis, <c>silos</c> silos, 2 client gateways, nginx) in
/// its own state folder and on its own ports, audio cache off (unless asked to keep it) and quiet logs; disposing runs <c>scripts/cluster.sh stop</c>.</summary>
internal sealed class LocalCluster : IAsyncDisposable
{
    private const int NginxPort = 8200;
    private static readonly int[] s_gatewayPorts = [8201, 8202];

    private readonly Dictionary<string, string> _environment;

    private LocalCluster(int silos, Dictionary<string, string> environment)
    {
        Silos = silos;
        _environment = environment;
    }

    public int Silos { get; }

    /// <summary>The port of the cluster's Redis.</summary>
    public static int RedisPort => 6391;

    /// <summary>nginx, load-balancing the two gateways.</summary>
    public static Uri Balancer => new($"http://127.0.0.1:{NginxPort}");

    /// <summary>The first client gateway, directly.</summary>
    public static Uri FirstGateway => new($"http://127.0.0.1:{s_gatewayPorts[0]}");

    /// <summary>Every process's metrics: the gateways on their HTTP ports, the silos on their Prometheus ports (the script's defaults).</summary>
    public static IReadOnlyList<Uri> MetricsEndpoints { get; } =
        [.. s_gatewayPorts.Select(port => new Uri($"http://127.0.0.1:{port}")), new("http://127.0.0.1:9101"), new("http://127.0.0.1:9102")];

    /// <summary>The command that starts it, as written in the results.</summary>
    public static string Describe(int silos) =>
        $"MITTTS_SILOS={silos} MIT_TTS_CACHE_SIZE=0 MIT_TTS_LOG_LEVEL=WARNING MIT_TTS_HTTP_PORT={NginxPort} MITTTS_GATEWAY_HTTP_PORTS=\"{string.Join(' ', s_gatewayPorts)}\" "
        + $"MITTTS_REDIS_PORT={RedisPort} MITTTS_SILO_PORTS=\"11211 11212\" MITTTS_SILO_GATEWAY_PORTS=\"30100 30101\" "
        + $"MITTTS_STATE_DIR=.cluster-bench/silos-{silos} scripts/cluster.sh start";

    /// <summary>The command that started this one, as written in the results (the state folder relative to the repository).</summary>
    public string Command => string.Join(' ', _environment.Where(v => v.Key != "MITTTS_BUILD").Select(v => v.Key switch
    {
        "MITTTS_STATE_DIR" => $"{v.Key}={Path.GetRelativePath(Environment.CurrentDirectory, v.Value)}",
        _ when v.Value.Contains(' ', StringComparison.Ordinal) => $"{v.Key}=\"{v.Value}\"",
        _ => $"{v.Key}={v.Value}",
    })) + " scripts/cluster.sh start";

    /// <summary>Starts a fresh cluster (its Redis data removed first, so no membership or device of an earlier run remains) and waits
    /// until every silo's synthesizer is in the device directory.</summary>
    /// <param name="silos">How many silos.</param>
    /// <param name="build">Let the script build the silo and the gateway first (Release).</param>
    /// <param name="name">Its state folder under <c>.cluster-bench/</c> (default <c>silos-N</c>).</param>
    /// <param name="audioCache">Keep the silos' audio cache at its default size (off otherwise).</param>
    /// <param name="environment">More variables for every process of the cluster (e.g. <c>tts__result_ttl_seconds</c>).</param>
    public static async Task<LocalCluster> Start(int silos, bool build, string? name = null, bool audioCache = false, IReadOnlyDictionary<string, string>? environment = null)
    {
        var state = Path.GetFullPath(Path.Combine(".cluster-bench", name ?? $"silos-{silos}"));
        var variables = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["MITTTS_SILOS"] = silos.ToString(CultureInfo.InvariantCulture),
            ["MITTTS_STATE_DIR"] = state,
            ["MITTTS_BUILD"] = build ? "1" : "0",
            ["MIT_TTS_HTTP_PORT"] = NginxPort.ToString(CultureInfo.InvariantCulture),
            ["MITTTS_GATEWAY_HTTP_PORTS"] = string.Join(' ', s_gatewayPorts),
            ["MITTTS_REDIS_PORT"] = RedisPort.ToString(CultureInfo.InvariantCulture),
            ["MITTTS_SILO_PORTS"] = "11211 11212",
            ["MITTTS_SILO_GATEWAY_PORTS"] = "30100 30101",
            ["MIT_TTS_LOG_LEVEL"] = "WARNING",
        };
        if (!audioCache)
        {
            variables["MIT_TTS_CACHE_SIZE"] = "0";
        }

        foreach (var (variable, value) in environment ?? new Dictionary<string, string>())
        {
            variables[variable] = value;
        }

        var cluster = new LocalCluster(silos, variables);
        await cluster.Script("stop");
        if (Directory.Exists(state))
        {
            Directory.Delete(state, recursive: true);
        }

        try
        {
            await cluster.Script("start");
            await cluster.WaitForDevices(TimeSpan.FromSeconds(90));
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    /// <summary>The pid of each process the script started and still runs (<c>redis</c>, <c>silo-a</c>, …, <c>gateway-a</c>, <c>gateway-b</c>,
    /// <c>nginx</c>), from the pid files it keeps in the state folder.</summary>
    public IReadOnlyDictionary<string, int> Processes()
    {
        var processes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(_environment["MITTTS_STATE_DIR"], "*.pid"))
        {
            if (int.TryParse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture, out var pid) && Directory.Exists($"/proc/{pid}"))
            {
                processes[Path.GetFileNameWithoutExtension(file)] = pid;
            }
        }

        return processes;
    }

    public async ValueTask DisposeAsync() => await Script("stop");

    private async Task WaitForDevices(TimeSpan timeout)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var clock = Stopwatch.StartNew();
        var devices = 0;
        while (clock.Elapsed < timeout)
        {
            try
            {
                // Both gateways must answer, and the directory must hold one device per silo.
                await client.GetStringAsync(new Uri(new Uri($"http://127.0.0.1:{s_gatewayPorts[1]}"), "/api/v1/health"));
                using var status = JsonDocument.Parse(await client.GetStringAsync(new Uri(Balancer, "/api/v1/status")));
                devices = status.RootElement.GetProperty("tts_engine").GetProperty("devices").GetArrayLength();
                if (devices >= Silos)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
            {
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"{devices} of {Silos} synthesizers registered after {timeout.TotalSeconds:0} s");
    }

    private async Task Script(string verb)
    {
        var start = new ProcessStartInfo("bash", [Path.Combine("scripts", "cluster.sh"), verb]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in _environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not run scripts/cluster.sh");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Console.Error.Write(await output);
        Console.Error.Write(await errors);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"scripts/cluster.sh {verb} exited with {process.ExitCode}");
        }
    }
}
