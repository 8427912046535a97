using System.Net;
using System.Text.RegularExpressions;
using MitTts.Tests.Api;
using MitTts.Tests.Support;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Observability;

/// <summary>The server's metrics as an operator's Prometheus sees them: a real Prometheus scrapes a server process after known traffic.</summary>
public sealed partial class MetricsTests
{
    [Fact]
    public async Task Prometheus_scrapes_counters_moved_by_the_traffic_and_populated_histograms()
    {
        await using var server = await GatewayProcess.Start();
        await using var prometheus = await PrometheusServer.Start(server.HostPort);
        var client = server.Client;

        // Three distinct texts (the engine speaks each), one repeat (answered from the cache), two requests for a voice that does not exist.
        string[] texts = ["Primera frase medida.", "Segunda frase medida.", "Tercera frase medida."];
        foreach (var text in texts)
        {
            (await client.Synthesize(new { text, voice_id = "es-female-1", format = "pcm" }, wait: true)).EnsureSuccessStatusCode();
        }

        (await client.Synthesize(new { text = texts[0], voice_id = "es-female-1", format = "pcm" }, wait: true)).EnsureSuccessStatusCode();
        for (var i = 0; i < 2; i++)
        {
            await (await client.Synthesize(new { text = "Nadie.", voice_id = "xx-nobody-9" })).AssertProblem(HttpStatusCode.BadRequest, "voice_not_found", "voice_id");
        }

        // One WebSocket session: a streamed task (first audio), then an interrupt (its acknowledgement).
        await using (var socket = await ProtocolClient.Connect(server.Address))
        {
            await socket.Send(new { type = "synthesize", text = "Hola por el socket.", voice_id = "es-female-1", format = "pcm", request_id = "r1" });
            var taskId = (await socket.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
            await socket.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));
            await socket.Send(new { type = "interrupt" });
            await socket.ReceiveUntil(m => m.Type == "interrupted");
        }

        const string synthesize = "route=\"/api/v1/synthesize\"";
        await prometheus.WaitForValue($"sum(mittts_http_requests_total{{{synthesize},status=\"200\"}})", v => v == 4, "four answered syntheses");
        await prometheus.WaitForValue($"sum(mittts_http_requests_total{{{synthesize},status=\"400\"}})", v => v == 2, "two refused syntheses");
        await prometheus.WaitForValue("sum(mittts_errors_total{code=\"voice_not_found\"})", v => v == 2, "two voice_not_found errors");
        await prometheus.WaitForValue($"sum(mittts_http_request_duration_seconds_count{{{synthesize}}})", v => v == 6, "six timed syntheses");
        await prometheus.WaitForValue("sum(mittts_first_audio_seconds_count{transport=\"rest\"})", v => v == 4, "four REST first-audio times");
        await prometheus.WaitForValue("sum(mittts_first_audio_seconds_count{transport=\"websocket\"})", v => v == 1, "one WebSocket first-audio time");
        await prometheus.WaitForValue("sum(mittts_interrupt_latency_seconds_count)", v => v == 1, "one interrupt latency");

        // The streamed task's first audio, stage by stage (the silo's and the gateway's), once each.
        foreach (var stage in new[] { "dispatch", "synthesis", "channel" })
        {
            await prometheus.WaitForValue($"sum(mittts_stream_first_audio_stage_seconds_count{{stage=\"{stage}\"}})", v => v == 1, $"one {stage} stage");
        }

        foreach (var stage in new[] { "accept", "deliver" })
        {
            await prometheus.WaitForValue($"sum(mittts_stream_gateway_stage_seconds_count{{stage=\"{stage}\"}})", v => v == 1, $"one gateway {stage} stage");
        }

        // The stages are parts of the whole: together they take no longer than the first audio they make up.
        var parts = await prometheus.Query("sum(mittts_stream_first_audio_stage_seconds_sum) + sum(mittts_stream_gateway_stage_seconds_sum)");
        var whole = await prometheus.Query("sum(mittts_first_audio_seconds_sum{transport=\"websocket\"})");
        Assert.True(parts is > 0 && parts <= whole, $"stages {parts} s, first audio {whole} s");
        await prometheus.WaitForValue("sum(mittts_cache_hits_total)", v => v == 1, "one cache hit");
        await prometheus.WaitForValue("sum(mittts_synthesis_real_time_factor_count{engine=\"espeak-ng\",device=\"local/cpu:0\"})", v => v == 4, "four spoken jobs (three REST, one streamed)");
        await prometheus.WaitForValue("sum(mittts_synthesis_audio_seconds_total{engine=\"espeak-ng\"})", v => v is > 1 and < 30, "seconds of audio produced");
        await prometheus.WaitForValue("sum(mittts_websocket_connections)", v => v == 0, "the socket counted closed");

        // The seed's five names (METRICS in its monitoring section), each with what it names.
        await prometheus.WaitForValue("sum(mittts_tts_latency_seconds_count{engine=\"espeak-ng\",device=\"local/cpu:0\"})", v => v == 4, "four tts latencies");
        await prometheus.WaitForValue("sum(mittts_tts_latency_seconds_sum)", v => v > 0, "tts latency that took time");
        await prometheus.WaitForValue("sum(mittts_active_connections)", v => v == 0, "no active connection left");
        await prometheus.WaitForValue("sum(mittts_queue_size)", v => v == 0, "an empty queue");
        Assert.NotNull(await prometheus.Query("sum(mittts_http_requests_total)"));
        Assert.NotNull(await prometheus.Query("sum(mittts_http_request_duration_seconds_count)"));
        await prometheus.WaitForValue("sum(mittts_scheduler_queue_length{priority=\"normal\",device=\"local/cpu:0\"})", v => v == 0, "an empty queue, by priority and device");

        // Histograms resolve single milliseconds: the buckets at 1, 2 and 3 ms exist and every sample fell in one bucket or another.
        foreach (var le in new[] { "0.001", "0.002", "0.003" })
        {
            Assert.NotNull(await prometheus.Query($"sum(mittts_interrupt_latency_seconds_bucket{{le=\"{le}\"}})"));
        }

        var p50 = await prometheus.Query($"histogram_quantile(0.5, sum by (le) (mittts_http_request_duration_seconds_bucket{{{synthesize}}}))");
        Assert.True(p50 is > 0 and < 10, $"request duration p50 {p50}");

        // The Orleans meters come along.
        await prometheus.WaitForValue("count({__name__=~\"orleans_.*\"})", v => v > 0, "Orleans series");
    }

    [Fact]
    public async Task The_metrics_text_parses_and_the_prometheus_port_serves_only_metrics()
    {
        await using var server = await GatewayProcess.Start();
        (await server.Client.Synthesize(new { text = "Hola.", voice_id = "es-female-1" }, wait: true)).EnsureSuccessStatusCode();

        using var metricsPort = new HttpClient { BaseAddress = server.MetricsAddress };
        var text = await metricsPort.GetStringAsync("/metrics");
        Assert.Equal(HttpStatusCode.NotFound, (await metricsPort.GetAsync("/api/v1/health")).StatusCode);
        Assert.Single(text.Split('\n'), l => l.StartsWith("# TYPE mittts_http_requests_total ", StringComparison.Ordinal));

        // Prometheus's own parser (promtool), then the exposition grammar line by line.
        var path = Path.Combine(Path.GetTempPath(), $"mittts-metrics-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(path, text);
        try
        {
            var (stdout, _, stderr) = await ExternalTool.Run("sh", "-c", $"promtool check metrics < {path} 2>&1; echo exit=$?");
            Assert.DoesNotContain("error while linting", stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("text format parsing error", stdout, StringComparison.Ordinal);
            // Exit 3 is a lint complaint (each line: "<metric> <problem>"). Ours follow the naming conventions; Orleans' own meters are
            // named by Orleans (e.g. counters without _total, units outside the name) and are left to it.
            Assert.True(stdout.Contains("exit=0", StringComparison.Ordinal) || stdout.Contains("exit=3", StringComparison.Ordinal), stdout + stderr);
            var ours = stdout.Split('\n').Where(l => l.StartsWith("mittts_", StringComparison.Ordinal)).ToList();
            Assert.True(ours.Count == 0, "promtool lint complaints about our metrics:\n" + string.Join('\n', ours));
        }
        finally
        {
            File.Delete(path);
        }

        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.True(line.StartsWith('#') ? CommentLine().IsMatch(line) : SampleLine().IsMatch(line), $"not exposition format: {line}");
        }

        var samples = text.Split('\n').Where(l => l.StartsWith("mittts_", StringComparison.Ordinal)).ToList();
        Assert.Contains(samples, l => l.StartsWith("mittts_http_request_duration_seconds_bucket{", StringComparison.Ordinal) && l.Contains("le=\"0.001\"", StringComparison.Ordinal));
        Assert.Contains(samples, l => l.StartsWith("mittts_result_store_size_bytes{", StringComparison.Ordinal));
        Assert.Contains(samples, l => l.StartsWith("mittts_scheduler_queue_length{", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_open_socket_is_one_websocket_connection_and_a_client_connection_until_it_closes()
    {
        await using var server = await GatewayProcess.Start();
        using var scraper = new HttpClient { BaseAddress = server.MetricsAddress };
        await using (var socket = await ProtocolClient.Connect(server.Address))
        {
            await socket.Send(new { type = "connect", session_id = "gauge-session-1" });
            await socket.ReceiveUntil(m => m.Type == "connected");
            var open = await scraper.GetStringAsync("/metrics");
            Assert.Equal(1, PrometheusText.Sum(open, "mittts_websocket_connections"));
            Assert.Equal(1, PrometheusText.Sum(open, "mittts_active_connections"));
            Assert.True(PrometheusText.Sum(open, "mittts_http_connections") >= 1, "the socket's connection is not counted");
        }

        // The server sees the close a moment after the client sends it.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        double? sockets;
        while ((sockets = PrometheusText.Sum(await scraper.GetStringAsync("/metrics"), "mittts_websocket_connections")) != 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(0, sockets);
        Assert.Equal(0, PrometheusText.Sum(await scraper.GetStringAsync("/metrics"), "mittts_active_connections"));
    }

    [Fact]
    public async Task Audio_a_session_keeps_for_resuming_shows_as_used_native_blocks()
    {
        await using var server = await GatewayProcess.Start();
        using var scraper = new HttpClient { BaseAddress = server.MetricsAddress };
        Assert.Equal(0.0, PrometheusText.Sum(await scraper.GetStringAsync("/metrics"), "mittts_channel_buffers_blocks_bytes", "state=\"used\""));

        await using var socket = await ProtocolClient.Connect(server.Address);
        await socket.Send(new { type = "synthesize", text = "This answer is kept for a while, so a client that drops can resume it.", format = "pcm" });
        var taskId = (await socket.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        var messages = await socket.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));
        var received = messages.Where(m => m.IsAudio).Sum(m => m.Audio!.Length);

        // Every piece read is kept in the blocks, whole blocks of 16 KB: at least the audio, at most one block more.
        var used = PrometheusText.Sum(await scraper.GetStringAsync("/metrics"), "mittts_channel_buffers_blocks_bytes", "state=\"used\"");
        Assert.NotNull(used);
        Assert.Equal(0, used % (16 * 1024));
        Assert.InRange(used.Value, received, received + (16 * 1024));
    }

    [GeneratedRegex(@"^# (HELP|TYPE|UNIT|EOF)( [a-zA-Z_:][a-zA-Z0-9_:]*( .*)?)?$")]
    private static partial Regex CommentLine();

    [GeneratedRegex(@"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*=""([^""\\]|\\.)*"",?)*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)( -?[0-9]+)?$")]
    private static partial Regex SampleLine();
}
