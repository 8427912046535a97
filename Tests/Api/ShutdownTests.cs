using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using MitTts.Tests.Cluster;
using MitTts.Tests.Support;

namespace MitTts.Tests.Api;

/// <summary>SIGTERM to the embedded server (a real process) with work queued: it exits by itself, cleanly, and says nothing is wrong.</summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task Sigterm_with_hundreds_of_jobs_queued_exits_cleanly_and_logs_no_error()
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

        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var server = Process.Start(start)!;
        server.OutputDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        server.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}") };
            await WaitUntilHealthy(client, server, log);

            var text = string.Concat(Enumerable.Repeat("Una frase larga para que la cola no se vacíe antes de parar. ", 20));
            var accepted = 0;
            for (var batch = 0; batch < 10; batch++)
            {
                var posts = Enumerable.Range(0, 20).Select(i => client.PostAsJsonAsync("/api/v1/synthesize", new { text = $"{batch}.{i} {text}", voice_id = "es-male-1" }));
                foreach (var response in await Task.WhenAll(posts))
                {
                    accepted += response.IsSuccessStatusCode ? 1 : 0;
                    response.Dispose();
                }
            }

            Assert.Equal(200, accepted);
            var status = await client.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/v1/status");
            Assert.True(status.GetProperty("tts_engine").GetProperty("queue_size").GetInt32() > 100, "the queue must hold work when the server is told to stop");

            using (var term = Process.Start("kill", ["-TERM", server.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            // A hang guard, not a timing claim: the README gives the measured stop time.
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await server.WaitForExitAsync(limit.Token);
            Assert.Equal(0, server.ExitCode);
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }
        }

        var errors = log.Where(line => line.Contains(" ERR]", StringComparison.Ordinal) || line.Contains(" FTL]", StringComparison.Ordinal)
            || line.Contains("fail:", StringComparison.Ordinal) || line.Contains("Exception", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, string.Join('\n', errors.Take(20)));
    }

    private static async Task WaitUntilHealthy(HttpClient client, Process server, IEnumerable<string> log)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline && !server.HasExited)
        {
            try
            {
                using var response = await client.GetAsync("/api/v1/health");
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

        Assert.Fail("The server did not come up:\n" + string.Join('\n', log));
    }
}
