using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using MitTts.Tests.Api;
using MitTts.Tests.Cluster;
using MitTts.Tests.Support;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Observability;

/// <summary>The files in <c>deploy/</c> hold together: Prometheus loads its config and rules, compose mounts what the configs name, every
/// dashboard and alert expression names a series the server exports, and the Kubernetes probes ask for paths the gateway serves.</summary>
public sealed partial class DeployFilesTests
{
    private static readonly string s_deploy = Path.Combine(RealClusterFixture.RepositoryRoot, "deploy");

    [Fact]
    public async Task The_prometheus_config_with_its_rule_files_passes_promtool()
    {
        var config = await File.ReadAllTextAsync(Path.Combine(s_deploy, "prometheus", "prometheus.yml"));
        const string rules = "/etc/prometheus/alerts.yml";
        Assert.Contains($"rule_files:\n  - {rules}\n", config, StringComparison.Ordinal);

        // As the container sees it: the rule file where compose mounts it, here a copy beside the config.
        var folder = Directory.CreateTempSubdirectory("mittts-promconfig-").FullName;
        try
        {
            File.Copy(Path.Combine(s_deploy, "prometheus", "alerts.yml"), Path.Combine(folder, "alerts.yml"));
            var copy = Path.Combine(folder, "prometheus.yml");
            await File.WriteAllTextAsync(copy, config.Replace(rules, Path.Combine(folder, "alerts.yml"), StringComparison.Ordinal));
            var (stdout, _, _) = await ExternalTool.Run("promtool", "check", "config", copy);
            Assert.Contains($"SUCCESS: {copy} is valid prometheus config file syntax", stdout, StringComparison.Ordinal);
            Assert.Contains("SUCCESS: 6 rules found", stdout, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Compose_mounts_the_prometheus_config_its_rules_and_the_grafana_provisioning_where_they_are_read()
    {
        var compose = await File.ReadAllTextAsync(Path.Combine(s_deploy, "docker-compose.yml"));
        var mounts = Mount().Matches(compose).ToDictionary(m => m.Groups["target"].Value, m => m.Groups["source"].Value, StringComparer.Ordinal);
        var dashboardsPath = ProvisionedPath().Match(await File.ReadAllTextAsync(Path.Combine(s_deploy, "grafana", "provisioning", "dashboards", "mittts.yml")));
        Assert.True(dashboardsPath.Success, "the dashboard provider names no path");

        (string Target, string Source)[] expected =
        [
            ("/etc/prometheus/prometheus.yml", "./prometheus/prometheus.yml"),
            ("/etc/prometheus/alerts.yml", "./prometheus/alerts.yml"),
            ("/etc/grafana/provisioning", "./grafana/provisioning"),
            (dashboardsPath.Groups[1].Value, "./grafana/dashboards"),
        ];
        foreach (var (target, source) in expected)
        {
            Assert.True(mounts.TryGetValue(target, out var mounted), $"compose mounts nothing at {target}");
            Assert.Equal(source, mounted);
            Assert.True(File.Exists(Path.Combine(s_deploy, source)) || Directory.Exists(Path.Combine(s_deploy, source)), $"{source} is not in deploy/");
        }

        Assert.NotEmpty(Directory.GetFiles(Path.Combine(s_deploy, "grafana", "dashboards"), "*.json"));
    }

    [Fact]
    public async Task Every_dashboard_and_alert_expression_names_a_series_the_server_exports_and_the_kubernetes_probes_answer()
    {
        var expressions = new List<string>();
        foreach (var dashboard in Directory.GetFiles(Path.Combine(s_deploy, "grafana", "dashboards"), "*.json"))
        {
            Expressions(JsonDocument.Parse(await File.ReadAllTextAsync(dashboard)).RootElement, expressions);
        }

        Assert.True(expressions.Count >= 10, $"only {expressions.Count} expressions in the dashboards");
        var alerts = await File.ReadAllTextAsync(Path.Combine(s_deploy, "prometheus", "alerts.yml"));
        var names = expressions.Append(alerts).SelectMany(e => SeriesName().Matches(e).Select(m => m.Value)).ToHashSet(StringComparer.Ordinal);

        await using var server = await GatewayProcess.Start();
        await ExportEverySeries(server);
        using var scraper = new HttpClient { BaseAddress = server.MetricsAddress };
        var exported = PrometheusText.Names(await scraper.GetStringAsync("/metrics"));
        Assert.All(names, name => Assert.True(exported.Contains(name), $"{name} is in deploy/ but the server exports no such series"));

        // The probes of the gateway (and of nginx, which passes them on) are paths the gateway answers 200 while it is fine.
        var probes = ProbePath().Matches(await File.ReadAllTextAsync(Path.Combine(s_deploy, "kubernetes", "mittts.yaml"))).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Equal(["/api/v1/health", "/api/v1/ready"], probes.Order(StringComparer.Ordinal));
        foreach (var path in probes)
        {
            Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync(path)).StatusCode);
        }
    }

    [Fact]
    public async Task The_silo_probes_are_tcp_on_the_orleans_ports_a_silo_listens_on()
    {
        // A silo serves no health endpoint over HTTP (Silo/Program.cs maps /metrics alone), so its probes are TCP on its Orleans ports:
        // the defaults of MIT_TTS_SILO_PORT and MIT_TTS_GATEWAY_PORT, which the manifest does not change.
        var manifest = await File.ReadAllTextAsync(Path.Combine(s_deploy, "kubernetes", "mittts.yaml"));
        var silo = manifest[manifest.IndexOf("name: mittts-silo,", StringComparison.Ordinal)..manifest.IndexOf("name: mittts-gateway,", StringComparison.Ordinal)];
        Assert.DoesNotContain("httpGet", silo, StringComparison.Ordinal);
        Assert.DoesNotContain("MIT_TTS_SILO_PORT", silo, StringComparison.Ordinal);
        Assert.DoesNotContain("MIT_TTS_GATEWAY_PORT", silo, StringComparison.Ordinal);
        var probed = TcpProbe().Matches(silo).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal([30000, 11111], probed);
        Assert.Contains("containerPort: 11111", silo, StringComparison.Ordinal);
        Assert.Contains("containerPort: 30000", silo, StringComparison.Ordinal);
    }

    /// <summary>Traffic that makes every instrument the dashboards read record at least once: syntheses (one a cache hit), a refused
    /// one, a busy one, a preempted job, a WebSocket task and an interrupt.</summary>
    private static async Task ExportEverySeries(GatewayProcess server)
    {
        var client = server.Client;
        (await client.Synthesize(new { text = "Hola tablero.", voice_id = "es-female-1" }, wait: true)).EnsureSuccessStatusCode();
        (await client.Synthesize(new { text = "Hola tablero.", voice_id = "es-female-1" }, wait: true)).EnsureSuccessStatusCode();
        await (await client.Synthesize(new { text = "Nadie.", voice_id = "xx-nobody-9" })).AssertProblem(HttpStatusCode.BadRequest, "voice_not_found", "voice_id");

        // A long normal job runs; with one job per level the normal queue is soon full; then a critical job arrives and preempts the long
        // one at a sentence boundary.
        (await client.PutAsync("/api/v1/config", new StringContent("""{"tts": {"max_text_length": 100000}, "scheduling": {"max_queue_per_level": 1}}""",
            System.Text.Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        var longText = string.Concat(Enumerable.Repeat("Una frase normal y larga para el tablero. ", 1500));
        var longTask = (await (await client.Synthesize(new { text = longText, voice_id = "es-female-1", priority = "normal" })).Json()).GetProperty("task_id").GetString();
        var busy = false;
        for (var i = 0; i < 3 && !busy; i++)
        {
            using var response = await client.Synthesize(new { text = $"En cola {i}.", voice_id = "es-female-1", priority = "normal" });
            busy = response.StatusCode == HttpStatusCode.TooManyRequests;
        }

        Assert.True(busy, "no normal job was refused behind the long one");
        (await client.Synthesize(new { text = "Urgente.", voice_id = "es-female-1", priority = "critical" }, wait: true)).EnsureSuccessStatusCode();
        (await client.DeleteAsync($"/api/v1/tasks/{longTask}")).EnsureSuccessStatusCode();

        await using var socket = await ProtocolClient.Connect(server.Address);
        await socket.Send(new { type = "synthesize", text = "Hola por el socket.", voice_id = "es-female-1", format = "pcm" });
        var taskId = (await socket.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        await socket.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));
        await socket.Send(new { type = "interrupt" });
        await socket.ReceiveUntil(m => m.Type == "interrupted");

        // The result store's figures are sampled every 5 s; wait for the first sample rather than for a fixed time.
        using var scraper = new HttpClient { BaseAddress = server.MetricsAddress };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!(await scraper.GetStringAsync("/metrics")).Contains("\nmittts_result_store_size_bytes{", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
    }

    private static void Expressions(JsonElement element, List<string> into)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.NameEquals("expr") && property.Value.ValueKind == JsonValueKind.String)
                    {
                        into.Add(property.Value.GetString()!);
                    }
                    else
                    {
                        Expressions(property.Value, into);
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Expressions(item, into);
                }

                break;
        }
    }

    // A series the expressions read: ours, by prefix (label names and functions never start with it).
    [GeneratedRegex(@"\bmittts_[a-z0-9_]+")]
    private static partial Regex SeriesName();

    // "- ./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in a volumes list.
    [GeneratedRegex(@"^\s*- (?<source>\./[^:\s]+):(?<target>/[^:\s]+)(:ro)?\s*$", RegexOptions.Multiline)]
    private static partial Regex Mount();

    [GeneratedRegex(@"^\s*path: (\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex ProvisionedPath();

    [GeneratedRegex(@"httpGet: \{ path: (\S+),")]
    private static partial Regex ProbePath();

    [GeneratedRegex(@"tcpSocket: \{ port: (\d+) \}")]
    private static partial Regex TcpProbe();
}
