using System.Diagnostics;
using System.Globalization;
using MitTts.Tests.Cluster;
using MitTts.Tests.Support;

namespace MitTts.Tests.Observability;

/// <summary>The embedded server as operators run it: <c>dotnet MitTts.Gateway.dll</c> in a process of its own (its metrics are its
/// own, not shared with the other servers of the test run), logging JSON lines to a file, with a separate Prometheus port.</summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private readonly ClusterProcess _process;
    private readonly string _folder;

    private GatewayProcess(ClusterProcess process, string folder, int httpPort, int metricsPort)
    {
        _process = process;
        _folder = folder;
        Address = new Uri($"http://127.0.0.1:{httpPort.ToString(CultureInfo.InvariantCulture)}");
        HostPort = $"127.0.0.1:{httpPort.ToString(CultureInfo.InvariantCulture)}";
        MetricsAddress = new Uri($"http://127.0.0.1:{metricsPort.ToString(CultureInfo.InvariantCulture)}");
        Client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public Uri Address { get; }

    /// <summary><c>127.0.0.1:port</c> of the HTTP port, as a Prometheus target.</summary>
    public string HostPort { get; }

    /// <summary>The Prometheus port (<c>MIT_TTS_PROMETHEUS_PORT</c>).</summary>
    public Uri MetricsAddress { get; }

    public HttpClient Client { get; }

    /// <summary>The log file (<c>MIT_TTS_LOG_FILE</c>), the live one; rotated ones are beside it (name.1, name.2, …).</summary>
    public string LogFile => Path.Combine(_folder, "logs", "mittts.log");

    /// <summary>Starts the gateway and waits until <paramref name="probe"/> answers 200 (by default readiness, as a load balancer).</summary>
    public static async Task<GatewayProcess> Start(IReadOnlyDictionary<string, string>? environment = null, string probe = "/api/v1/ready")
    {
        var folder = Directory.CreateTempSubdirectory("mittts-gateway-").FullName;
        var httpPort = FreePort.Next();
        var metricsPort = FreePort.Next();
        var variables = new Dictionary<string, string>
        {
            ["MIT_TTS_HOST"] = "127.0.0.1",
            ["MIT_TTS_HTTP_PORT"] = httpPort.ToString(CultureInfo.InvariantCulture),
            ["MIT_TTS_WS_PORT"] = httpPort.ToString(CultureInfo.InvariantCulture),
            ["MIT_TTS_PROMETHEUS_PORT"] = metricsPort.ToString(CultureInfo.InvariantCulture),
            ["MIT_TTS_SILO_PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["MIT_TTS_GATEWAY_PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["MIT_TTS_LOG_LEVEL"] = "INFO",
            ["MIT_TTS_LOG_FILE"] = Path.Combine(folder, "logs", "mittts.log"),
            ["MIT_TTS_RESULTS_DIR"] = Path.Combine(folder, "results"),
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            variables[key] = value;
        }

        var process = new ClusterProcess("gateway", "dotnet", ["MitTts.Gateway.dll"], RealClusterFixture.BinaryFolder("Gateway"), Path.Combine(folder, "console.log"), variables);
        process.Start();
        var gateway = new GatewayProcess(process, folder, httpPort, metricsPort);
        var clock = Stopwatch.StartNew();
        while (!await gateway.Answers(probe))
        {
            if (!process.IsRunning || clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                Assert.Fail($"The gateway did not come up.\n{process.ReadLog()}");
            }

            await Task.Delay(200);
        }

        return gateway;
    }

    /// <summary>Every line of the log files so far.</summary>
    public IReadOnlyList<string> LogLines() =>
        [.. Directory.EnumerateFiles(Path.Combine(_folder, "logs")).Order(StringComparer.Ordinal).SelectMany(ReadShared).Where(line => line.Length > 0)];

    /// <summary>What the process printed (its console), for failure messages.</summary>
    public string Console() => _process.ReadLog();

    private static IEnumerable<string> ReadShared(string path)
    {
        // The server holds the live file open for writing, and may rotate (rename) it meanwhile.
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            return [];
        }

        using var _ = stream;
        using var reader = new StreamReader(stream);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            lines.Add(line);
        }

        return lines;
    }

    private async Task<bool> Answers(string probe)
    {
        try
        {
            return (await Client.GetAsync(probe)).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _process.Stop(TimeSpan.FromSeconds(10));
        _process.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A straggler still writes; the temp folder is harmless.
        }
    }
}
