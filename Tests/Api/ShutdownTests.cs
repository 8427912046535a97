using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using MitTts.Tests.Cluster;
using MitTts.Tests.Speech.Onnx;
using MitTts.Tests.Support;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Api;

/// <summary>SIGTERM to the embedded server (a real process) with work queued or a long inference running: it exits by itself, cleanly,
/// and says nothing is wrong.</summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task Sigterm_with_hundreds_of_jobs_queued_exits_cleanly_and_logs_no_error()
    {
        await using var server = ServerProcess.Start();
        await server.WaitUntilHealthy();

        var text = string.Concat(Enumerable.Repeat("Una frase larga para que la cola no se vacíe antes de parar. ", 20));
        var accepted = 0;
        for (var batch = 0; batch < 10; batch++)
        {
            var posts = Enumerable.Range(0, 20).Select(i => server.Client.PostAsJsonAsync("/api/v1/synthesize", new { text = $"{batch}.{i} {text}", voice_id = "es-male-1" }));
            foreach (var response in await Task.WhenAll(posts))
            {
                accepted += response.IsSuccessStatusCode ? 1 : 0;
                response.Dispose();
            }
        }

        Assert.Equal(200, accepted);
        var status = await server.Client.GetFromJsonAsync<JsonElement>("/api/v1/status");
        Assert.True(status.GetProperty("tts_engine").GetProperty("queue_size").GetInt32() > 100, "the queue must hold work when the server is told to stop");

        await server.TerminateAndWait();
        server.AssertNoErrorLogged();
    }

    [Fact]
    public async Task Sigterm_tells_each_socket_how_its_tasks_ended_then_closes_it_going_away()
    {
        await using var server = ServerProcess.Start();
        await server.WaitUntilHealthy();

        // Three sockets, each with a task playing and more work waiting behind it than the engine can do before the stop.
        const int PerSocket = 8;
        var text = string.Concat(Enumerable.Repeat("Una frase larga que suena mientras el servidor se para. ", 80));
        var sockets = new List<(ProtocolClient Client, List<string> Tasks)>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var client = await ProtocolClient.Connect(server.Client.BaseAddress!);
                sockets.Add((client, []));
                await client.Send(new { type = "connect" });
                await client.ReceiveUntil(m => m.Type == "connected");
                for (var t = 0; t < PerSocket; t++)
                {
                    await client.Send(new { type = "synthesize", text, voice_id = "es-female-1", format = "pcm" });
                }

                var tasks = sockets[^1].Tasks;
                var playing = false;
                await client.ReceiveUntil(m =>
                {
                    if (m.Type == "status" && m.Str("status") == "queued")
                    {
                        tasks.Add(m.Str("task_id")!);
                    }

                    playing |= m.IsAudio;
                    return tasks.Count == PerSocket && playing;
                });
            }

            await server.TerminateAndWait();
            server.AssertNoErrorLogged();

            // Every task a socket was told of ends once: done before the stop, or cancelled with the stop's code.
            var stopped = 0;
            foreach (var (client, tasks) in sockets)
            {
                var received = client.Received.ToList();
                foreach (var task in tasks)
                {
                    var end = Assert.Single(received, m => ProtocolClient.IsEnd(m, task));
                    if (end.Str("status") != "completed")
                    {
                        Assert.Equal("cancelled", end.Str("status"));
                        Assert.Equal("server_stopping", end.Json!["error"]?["code"]?.GetValue<string>());
                        stopped++;
                    }
                }

                Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.EndpointUnavailable, client.CloseStatus);
            }

            Assert.True(stopped > 0, "no task was still unfinished when the server was told to stop");
        }
        finally
        {
            foreach (var (client, _) in sockets)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Sigterm_during_a_neural_inference_of_seconds_stops_it_exits_cleanly_and_tells_a_waiting_request_to_send_again()
    {
        // A Piper model whose every inference is 800 products of 1024×1024 (seconds on this machine): the stop must terminate the one
        // running, not wait for it, and closing the model must not free its session under it. A request waiting for its audio
        // (?wait=true) behind it hears 503 server_stopping, not the 409 of a task its caller cancelled.
        using var models = new NeuralModelFolder();
        models.AddEspeakCatalogue();
        models.AddPiper("en_GB-crawl-x_low", NeuralTestModels.Piper(slowMatMuls: 800), NeuralTestModels.PiperConfig());
        await using var server = ServerProcess.Start(("MIT_TTS_MODEL_PATH", models.Path), ("MIT_TTS_ONNX_THREADS", "1"));
        await server.WaitUntilHealthy();

        var voices = await server.Client.GetFromJsonAsync<JsonElement>("/api/v1/voices");
        var voice = voices.GetProperty("voices").EnumerateArray()
            .Single(v => v.GetProperty("description").GetString()!.EndsWith("en_GB-crawl-x_low.onnx", StringComparison.Ordinal)).GetProperty("id").GetString();
        using var submitted = await server.Client.PostAsJsonAsync("/api/v1/synthesize", new { text = "Slow words take their time. And then some more.", voice_id = voice });
        var taskId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("task_id").GetString();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((await server.Client.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{taskId}")).GetProperty("status").GetString() != "processing")
        {
            Assert.True(DateTime.UtcNow < deadline, "the neural task never started");
            await Task.Delay(20);
        }

        var waiting = server.Client.PostAsJsonAsync("/api/v1/synthesize?wait=true", new { text = "I wait for my audio.", voice_id = voice });
        while ((await server.Client.GetFromJsonAsync<JsonElement>("/api/v1/status")).GetProperty("tts_engine").GetProperty("devices").EnumerateArray()
            .Sum(d => d.GetProperty("queue_length").GetInt32()) < 1)
        {
            Assert.True(DateTime.UtcNow < deadline, "the waiting request never queued");
            await Task.Delay(20);
        }

        var stopping = Stopwatch.StartNew();
        await server.TerminateAndWait();
        server.AssertNoErrorLogged();

        // The inference alone takes longer than this (about 20 s here); the bound leaves a loaded CI host room, not a whole inference.
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"the server took {stopping.Elapsed} to stop");

        using var answer = await waiting;
        var problem = await answer.AssertProblem(System.Net.HttpStatusCode.ServiceUnavailable, "server_stopping");
        Assert.Equal("1", answer.Headers.GetValues("Retry-After").Single());
        Assert.StartsWith("task_", problem.GetProperty("task_id").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_in_use_exits_with_code_1_and_says_why_instead_of_aborting()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);

        await using var server = ServerProcess.Start(("MIT_TTS_HTTP_PORT", port));
        var exitCode = await server.WaitForExit();

        // 134 is the runtime's abort (SIGABRT) on an unhandled exception.
        Assert.True(exitCode == 1, $"exit code {exitCode}");
        Assert.Contains(server.Log, line => line.StartsWith("mittts: the server could not start:", StringComparison.Ordinal)
            && line.Contains("address already in use", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(server.Log, line => line.Contains("Unhandled exception", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("MIT_TTS_HOST", "0.0.0.0", "no security.jwt_secret")]
    [InlineData("MIT_TTS_JWT_SECRET", "too-short", "at least 32 bytes")]
    [InlineData("MIT_TTS_LOG_LEVEL", "LOUD", "Unknown log level 'LOUD'")]
    [InlineData("MIT_TTS_GATEWAY_MODE", "sideways", "must be 'cohosted' or 'client'")]
    public async Task A_setting_refused_at_startup_exits_with_code_1_and_says_which(string name, string value, string reason)
    {
        await using var server = ServerProcess.Start((name, value));
        var exitCode = await server.WaitForExit();

        Assert.True(exitCode == 1, $"exit code {exitCode}");
        Assert.Contains(server.Log, line => line.StartsWith("mittts: the server could not start:", StringComparison.Ordinal)
            && line.Contains(reason, StringComparison.Ordinal));
        Assert.DoesNotContain(server.Log, line => line.Contains("Unhandled exception", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{\"@t\":\"2026-12-01T11:01:05.78Z\",\"@m\":\"Stopping the synthesizers did not finish\",\"@i\":\"2f93cdb4\",\"@l\":\"Error\",\"SourceContext\":\"MitTts\"}", true)]
    [InlineData("{\"@t\":\"2026-12-01T11:01:05.78Z\",\"@m\":\"Host terminated\",\"@i\":\"2f93cdb4\",\"@l\":\"Fatal\"}", true)]
    [InlineData("{\"@t\":\"2026-12-01T11:01:05.78Z\",\"@m\":\"Failed\",\"@i\":\"2f93cdb4\",\"@l\":\"Warning\",\"@x\":\"System.IO.IOException: gone\"}", true)]
    [InlineData("11:01:05.781 ERR Stopping the synthesizers did not finish {}", true)]
    [InlineData("11:01:05.781 FTL Host terminated {}", true)]
    [InlineData("{\"@t\":\"2026-12-01T11:01:04.73Z\",\"@m\":\"AUTH IS OFF\",\"@i\":\"7e367c3e\",\"@l\":\"Warning\",\"SourceContext\":\"MitTts.Gateway\"}", false)]
    [InlineData("{\"@t\":\"2026-12-01T11:02:00.41Z\",\"@m\":\"HTTP GET /api/v1/config responded 200\",\"@i\":\"62d0885c\",\"StatusCode\":200}", false)]
    [InlineData("11:01:05.781 WRN The error rate is high {}", false)]
    public void The_error_check_knows_both_log_formats(string line, bool error) => Assert.Equal(error, ServerProcess.IsError(line));

    /// <summary>The embedded server (the shipped gateway) as a real process on free ports, its log kept.</summary>
    private sealed class ServerProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log = new();

        private ServerProcess(Process process, int port)
        {
            _process = process;
            Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}") };
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) { _log.Enqueue(e.Data); } };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { _log.Enqueue(e.Data); } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public HttpClient Client { get; }

        /// <summary>Every line the process wrote so far, both streams.</summary>
        public IReadOnlyCollection<string> Log => _log;

        /// <summary>Waits (at most 30 s, a hang guard) for the process to exit by itself; its exit code, once its output is read.</summary>
        public async Task<int> WaitForExit()
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(limit.Token);
            return _process.ExitCode;
        }

        public static ServerProcess Start(params (string Name, string Value)[] environment)
        {
            var port = FreePort.Next();
            var start = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = RealClusterFixture.BinaryFolder("Gateway"),
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add("MitTts.Gateway.dll");
            start.Environment["MIT_TTS_HOST"] = "127.0.0.1";
            start.Environment["MIT_TTS_HTTP_PORT"] = port.ToString(CultureInfo.InvariantCulture);
            start.Environment["MIT_TTS_WS_PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture);
            start.Environment["MIT_TTS_SILO_PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture);
            start.Environment["MIT_TTS_GATEWAY_PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture);
            start.Environment["MIT_TTS_LOG_LEVEL"] = "INFO";
            foreach (var (name, value) in environment)
            {
                start.Environment[name] = value;
            }

            return new ServerProcess(Process.Start(start)!, port);
        }

        public async Task WaitUntilHealthy()
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                try
                {
                    using var response = await Client.GetAsync("/api/v1/health");
                    if (response.IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }

                await Task.Delay(200);
            }

            Assert.Fail("The server did not come up:\n" + string.Join('\n', _log));
        }

        /// <summary>SIGTERM, then the process must exit by itself with code 0.</summary>
        public async Task TerminateAndWait()
        {
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            // A hang guard, not a timing claim: the README gives the measured stop time.
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(limit.Token);
            Assert.Equal(0, _process.ExitCode);
        }

        public void AssertNoErrorLogged()
        {
            var errors = _log.Where(IsError).ToList();
            Assert.True(errors.Count == 0, string.Join('\n', errors.Take(20)));
        }

        /// <summary>A log line of level error or fatal, or one carrying an exception, in either of the server's formats: compact JSON
        /// (<c>"@l":"Error"</c>, <c>"@x"</c>: the default outside Development, so what these processes write) or the text template
        /// (<c>12:00:00.000 ERR …</c>).</summary>
        internal static bool IsError(string line) =>
            line.Contains("\"@l\":\"Error\"", StringComparison.Ordinal) || line.Contains("\"@l\":\"Fatal\"", StringComparison.Ordinal)
            || line.Contains("\"@x\":", StringComparison.Ordinal)
            || s_textError.IsMatch(line) || line.Contains("Exception", StringComparison.Ordinal);

        private static readonly Regex s_textError = new(@"^\d\d:\d\d:\d\d\.\d{3} (ERR|FTL) ", RegexOptions.CultureInvariant);

        public ValueTask DisposeAsync()
        {
            Client.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
