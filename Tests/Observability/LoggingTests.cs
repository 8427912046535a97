using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using MitTts.Tests.Api;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Observability;

/// <summary>Log lines as an operator's log pipeline reads them: one JSON object per line, with the ids to follow a request, and no
/// user text at Information level.</summary>
public sealed class LoggingTests
{
    [Theory]
    [InlineData("Participant check thread has not completed for {TimeSinceLastTick}, potentially indicating lock contention or deadlock, CPU starvation, or another execution anomaly.", 10_000_000, true)]
    [InlineData("Participant check thread has not completed for {TimeSinceLastTick}, potentially indicating lock contention or deadlock, CPU starvation, or another execution anomaly.", 5, false)]
    [InlineData(".NET Runtime Platform stalled for {TimeSinceLastTick}.", 10_000_000, false)]
    public void Only_an_orleans_stall_warning_longer_than_the_process_has_run_is_dropped(string template, double stallSeconds, bool dropped)
    {
        // Orleans' first watchdog ticks can measure from a timestamp of zero: the machine's uptime reported as a possible deadlock.
        var logEvent = new Serilog.Events.LogEvent(DateTimeOffset.UtcNow, Serilog.Events.LogEventLevel.Warning, null,
            new Serilog.Parsing.MessageTemplateParser().Parse(template),
            [new Serilog.Events.LogEventProperty("TimeSinceLastTick", new Serilog.Events.ScalarValue(TimeSpan.FromSeconds(stallSeconds)))]);
        Assert.Equal(dropped, MitTts.Silo.Observability.MitTtsLogging.IsImpossibleStallWarning(logEvent));
    }

    [Fact]
    public async Task Log_lines_are_json_with_request_task_and_session_ids_and_carry_no_user_text()
    {
        await using var server = await GatewayProcess.Start();
        const string secret = "Mi contraseña es caballo azul";
        var response = await server.Client.Synthesize(new { text = secret + ".", voice_id = "es-female-1" });
        var taskId = (await response.Json()).GetProperty("task_id").GetString()!;
        var requestId = response.Headers.GetValues("X-Request-Id").Single();

        string sessionId;
        await using (var socket = await ProtocolClient.Connect(server.Address))
        {
            await socket.Send(new { type = "connect", session_id = "log-session-1" });
            sessionId = (await socket.ReceiveUntil(m => m.Type == "connected"))[^1].Str("session_id")!;
            await socket.Send(new { type = "synthesize", text = secret + " otra vez.", voice_id = "es-female-1", format = "pcm" });
            await socket.ReceiveUntil(m => m.Str("status") is "completed" or "error");
        }

        // Lines are written as they happen; the request line is there once the answer has gone out, the session line once the socket
        // joined; poll the file until both are.
        IReadOnlyList<JsonElement> lines = [];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            lines = [.. server.LogLines().Select(line => JsonDocument.Parse(line).RootElement.Clone())];
            if (lines.Any(IsRequestLine(requestId)) && lines.Any(l => Property(l, "SessionId") == sessionId))
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Single(lines, l => IsRequestLine(requestId)(l));

        // A start that went well says nothing about a deadlock (Orleans' first watchdog ticks measure the machine's uptime).
        Assert.DoesNotContain(lines, l => l.TryGetProperty("@m", out var m) && m.GetString()!.StartsWith("Participant check thread", StringComparison.Ordinal));
        var request = lines.Single(IsRequestLine(requestId));
        Assert.Equal(taskId, Property(request, "TaskId"));
        Assert.Equal((secret + ".").Length.ToString(System.Globalization.CultureInfo.InvariantCulture), Property(request, "TextLength"));
        Assert.Contains(lines, l => Property(l, "SessionId") == sessionId && Property(l, "@m")!.Contains(sessionId, StringComparison.Ordinal));

        // Every line is compact JSON with a time and a message; no line carries what the user said.
        Assert.All(lines, l =>
        {
            Assert.NotNull(Property(l, "@t"));
            Assert.NotNull(Property(l, "@m"));
        });
        var all = string.Join('\n', server.LogLines());
        Assert.DoesNotContain("caballo azul", all, StringComparison.Ordinal);
        Assert.DoesNotContain("contrase", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_line_written_while_a_request_runs_carries_its_request_id_and_its_trace_and_span_ids()
    {
        // Debug: every line the gateway has to say about the request, not only the completion line.
        await using var server = await GatewayProcess.Start(new Dictionary<string, string> { ["MIT_TTS_LOG_LEVEL"] = "DEBUG" });
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        using var message = new HttpRequestMessage(HttpMethod.Post, "/api/v1/synthesize?wait=true")
        {
            Content = JsonContent.Create(new { text = "Una línea por traza.", voice_id = "es-female-1" }),
        };
        message.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        var response = await server.Client.SendAsync(message);
        response.EnsureSuccessStatusCode();
        var requestId = response.Headers.GetValues("X-Request-Id").Single();

        IReadOnlyList<JsonElement> lines = [];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!lines.Any(IsRequestLine(requestId)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            lines = [.. server.LogLines().Select(line => JsonDocument.Parse(line).RootElement.Clone())];
        }

        // The request's id and its trace (the client's traceparent) go together: a line has both or neither.
        var ofTheRequest = lines.Where(l => Property(l, "RequestId") == requestId).ToList();
        var ofTheTrace = lines.Where(l => Property(l, "@tr") == traceId).ToList();
        Assert.Contains(ofTheRequest, l => IsRequestLine(requestId)(l));
        Assert.Equal(ofTheRequest.Select(l => l.GetRawText()), ofTheTrace.Select(l => l.GetRawText()));
        Assert.All(ofTheRequest, l => Assert.Matches("^[0-9a-f]{16}$", Property(l, "@sp")));
    }

    [Fact]
    public async Task The_log_file_rolls_over_at_its_size_limit_and_keeps_the_newest_fourteen()
    {
        const int limit = 4096;
        await using var server = await GatewayProcess.Start(new Dictionary<string, string>
        {
            ["MIT_TTS_LOG_LEVEL"] = "DEBUG",
            ["logging__file_size_limit_mb"] = (limit / 1024.0 / 1024.0).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        });

        // Probes are logged at Debug, a few hundred bytes each: enough for more than fourteen files.
        string last = "";
        for (var i = 0; i < 300; i++)
        {
            last = (await server.Client.GetAsync("/api/v1/health")).Headers.GetValues("X-Request-Id").Single();
        }

        var folder = Path.GetDirectoryName(server.LogFile)!;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!server.LogLines().Any(l => l.Contains(last, StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        // The configured name is the live file; the rotated ones are name.1 (the newest) to name.13, the older ones deleted.
        var live = server.LogFile;
        var files = Enumerable.Range(1, 13).Reverse().Select(i => $"{live}.{i}").Append(live).ToList();
        Assert.Equal(files.Order(StringComparer.Ordinal), Directory.GetFiles(folder).Order(StringComparer.Ordinal));
        // A file takes lines while it is under the limit: without its last line, each is under it; each but the live one is full.
        Assert.All(files, f =>
        {
            var length = new FileInfo(f).Length;
            var lastLine = System.Text.Encoding.UTF8.GetByteCount(File.ReadLines(f).Last()) + 1;
            Assert.True(length - lastLine < limit && (f == live || length >= limit), $"{f}: {length} bytes, its last line {lastLine}");
        });
        // Oldest to newest: each file's first line comes after the one before it, and the live file holds the last probe.
        var starts = files.Select(f => JsonDocument.Parse(File.ReadLines(f).First()).RootElement.GetProperty("@t").GetDateTimeOffset()).ToList();
        Assert.Equal(starts.Order(), starts);
        Assert.Contains(File.ReadLines(live), l => l.Contains(last, StringComparison.Ordinal));
        Assert.Contains(server.LogLines(), l => l.Contains(last, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_body_too_large_is_logged_and_counted_as_the_413_it_got_under_its_route()
    {
        await using var server = await GatewayProcess.Start();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/synthesize")
        {
            Content = new StringContent($$"""{"text": "{{new string('a', 1100 * 1024)}}"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;
        var response = await server.Client.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var requestId = response.Headers.GetValues("X-Request-Id").Single();
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());

        JsonElement? line = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (line is null && DateTime.UtcNow < deadline)
        {
            line = server.LogLines().Select(l => JsonDocument.Parse(l).RootElement.Clone()).Where(IsRequestLine(requestId)).Cast<JsonElement?>().FirstOrDefault();
            await Task.Delay(line is null ? 100 : 0);
        }

        // A client's mistake: the status it got, at Information, not an Error-level 500 that would wake whoever watches for them.
        Assert.NotNull(line);
        Assert.Equal("413", Property(line.Value, "StatusCode"));
        Assert.Null(Property(line.Value, "@l"));
        Assert.DoesNotContain(server.LogLines(), l => l.Contains("\"@l\":\"Error\"", StringComparison.Ordinal));

        using var scraper = new HttpClient { BaseAddress = server.MetricsAddress };
        var metrics = await scraper.GetStringAsync("/metrics");
        Assert.Equal(1, PrometheusText.Sum(metrics, "mittts_http_requests_total", "route=\"/api/v1/synthesize\"", "status=\"413\""));
        Assert.Equal(1, PrometheusText.Sum(metrics, "mittts_errors_total", "code=\"payload_too_large\""));
    }

    private static Func<JsonElement, bool> IsRequestLine(string requestId) =>
        l => Property(l, "RequestId") == requestId && Property(l, "RequestPath") == "/api/v1/synthesize";

    private static string? Property(JsonElement line, string name) =>
        line.TryGetProperty(name, out var value) ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText() : null;
}
