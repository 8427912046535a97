using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using MitTts.Tests.Cluster;
using MitTts.Tests.Support;

namespace MitTts.Tests.Observability;

/// <summary>A real Prometheus (Debian's <c>prometheus</c>) on a free loopback port, scraping the given targets every second, with its
/// HTTP query API for the tests.</summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly ClusterProcess _process;
    private readonly string _folder;

    private PrometheusServer(ClusterProcess process, string folder, Uri address)
    {
        _process = process;
        _folder = folder;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
    }

    public HttpClient Client { get; }

    /// <summary>Starts Prometheus scraping <c>/metrics</c> of each <c>host:port</c> in <paramref name="targets"/>; waits until it answers.</summary>
    public static async Task<PrometheusServer> Start(params string[] targets)
    {
        var folder = Directory.CreateTempSubdirectory("mittts-prometheus-").FullName;
        var port = FreePort.Next();
        var config = Path.Combine(folder, "prometheus.yml");
        await File.WriteAllTextAsync(config, $$"""
            global:
              scrape_interval: 1s
              scrape_timeout: 900ms
            scrape_configs:
              - job_name: mittts
                metrics_path: /metrics
                static_configs:
                  - targets: [{{string.Join(", ", targets.Select(t => $"\"{t}\""))}}]
            """);
        var process = new ClusterProcess("prometheus", "prometheus",
        [
            $"--config.file={config}",
            $"--storage.tsdb.path={Path.Combine(folder, "data")}",
            $"--web.listen-address=127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
        ], folder, Path.Combine(folder, "prometheus.log"));
        process.Start();
        var server = new PrometheusServer(process, folder, new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"));
        await server.WaitUntil(async () => (await server.Client.GetAsync("/-/ready")).IsSuccessStatusCode, "Prometheus to start");
        return server;
    }

    /// <summary>The value of an instant query's single result; null while it has none.</summary>
    public async Task<double?> Query(string promql)
    {
        var answer = await Client.GetFromJsonAsync<JsonElement>($"/api/v1/query?query={Uri.EscapeDataString(promql)}");
        Assert.Equal("success", answer.GetProperty("status").GetString());
        var result = answer.GetProperty("data").GetProperty("result");
        if (result.GetArrayLength() == 0)
        {
            return null;
        }

        Assert.True(result.GetArrayLength() == 1, $"{promql} has {result.GetArrayLength()} series: {result}");
        return double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
    }

    /// <summary>Polls <paramref name="promql"/> until its value satisfies <paramref name="expected"/>; fails with the last value after 30 s.</summary>
    public async Task<double> WaitForValue(string promql, Func<double, bool> expected, string what)
    {
        double? last = null;
        await WaitUntil(async () => (last = await Query(promql)) is { } value && expected(value), $"{what} ({promql}); last value {last?.ToString(CultureInfo.InvariantCulture) ?? "none"}");
        return last!.Value;
    }

    /// <summary>The health of every scrape target, as Prometheus sees it.</summary>
    public async Task<string> Targets() => await Client.GetStringAsync("/api/v1/targets");

    private async Task WaitUntil(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                var targets = _process.IsRunning ? await Targets() : "(not running)";
                Assert.Fail($"Waited 30 s in vain for {what}.\ntargets: {targets}\n{_process.ReadLog()}");
            }

            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _process.Stop(TimeSpan.FromSeconds(5));
        _process.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // Prometheus may still hold a file for a moment; a temp folder is harmless.
        }
    }
}
