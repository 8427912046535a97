using System.Diagnostics;
using System.Net;
using System.Text.Json;
using MitTts.Tests.Api;
using StackExchange.Redis;

namespace MitTts.Tests.Cluster;

/// <summary>Cluster mode with real processes: two silos and two client gateways sharing Redis, nginx in front.</summary>
[Collection(RealClusterCollection.Name)]
public sealed class ClusterTests(RealClusterFixture cluster) : IAsyncLifetime
{
    private const string NodeHeader = "X-MitTts-Node";

    public Task InitializeAsync() => cluster.EnsureHealthy();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Rest_synthesis_through_nginx_is_round_robined_across_both_gateways()
    {
        // nginx takes a gateway out for fail_timeout (5 s) after an error, which an earlier test's silo kill may have caused: requests
        // keep coming until both gateways answered (or 15 s passed), and every request must succeed.
        var nodes = new HashSet<string>(StringComparer.Ordinal);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        for (var i = 0; nodes.Count < 2 && DateTime.UtcNow < deadline; i++)
        {
            var response = await cluster.Balancer.Synthesize(new { text = $"Petición número {i}.", voice_id = "es-female-1" });
            await response.Json();
            nodes.Add(response.Headers.GetValues(NodeHeader).Single());
            if (nodes.Count < 2)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500));
            }
        }

        Assert.Equal(["gateway-a", "gateway-b"], nodes.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Nginx_passes_the_clients_host_on_to_the_gateways_on_every_path()
    {
        // The 426 of a plain GET on /ws names the host the gateway saw; behind nginx that must be the one the client used, not the
        // upstream's name (a proxy_set_header in a location drops those set for the server).
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ws");
        request.Headers.Host = "tts.example.com";
        var response = await cluster.Balancer.SendAsync(request);

        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
        Assert.Contains("ws://tts.example.com/ws", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The REST location too: the OpenAPI document's server is the address the client used.
        using var openApi = new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json");
        openApi.Headers.Host = "tts.example.com";
        var document = await (await cluster.Balancer.SendAsync(openApi)).Content.ReadAsStringAsync();
        Assert.Contains("tts.example.com", document, StringComparison.Ordinal);
        Assert.DoesNotContain("mittts_gateways", document, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/v1/synthesize", "application/problem+json")]
    [InlineData("/v1/audio/speech", "application/json")]
    public async Task A_body_over_the_limit_gets_the_apis_own_413_from_nginx_not_a_502(string path, string mediaType)
    {
        // nginx refuses what the gateways would (over 1 MiB) before a byte reaches them: a gateway refusing a body part-way resets
        // its connection, which nginx reported as a 502 now and then. The answer is the API's JSON error, not nginx's HTML page.
        // One byte over the limit (the JSON around the text is 12 bytes), and 1.5 MiB a few times over, since the 502 was a race.
        foreach (var size in new[] { 1024 * 1024 - 11, 1536 * 1024, 3 * 1024 * 1024, 1536 * 1024, 1536 * 1024 })
        {
            var body = "{\"text\": \"" + new string('a', size) + "\"}";
            using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
            var response = await cluster.Balancer.PostAsync(path, content);

            var message = await AssertApiError(response, HttpStatusCode.RequestEntityTooLarge, mediaType, "payload_too_large", $"{size} bytes");
            Assert.False(response.Headers.Contains(NodeHeader), "nginx answers, no gateway");
            Assert.Contains("1 MiB", message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("/api/v1/voices", "application/problem+json")]
    [InlineData("/v1/models", "application/json")]
    public async Task A_header_or_request_line_over_nginxs_limits_gets_the_apis_own_error_not_an_html_page(string path, string mediaType)
    {
        // nginx reads a request line or a header line of up to 8 KiB (the gateways' limits); past them it answers itself, as the API
        // would. A request line too long to read has no path, so its answer is problem details whatever the path.
        using var header = new HttpRequestMessage(HttpMethod.Get, path);
        header.Headers.Add("X-Padding", new string('x', 9 * 1024));
        var headerResponse = await cluster.Balancer.SendAsync(header);
        var lineResponse = await cluster.Balancer.GetAsync(path + "?q=" + new string('x', 9 * 1024));

        await AssertApiError(headerResponse, HttpStatusCode.RequestHeaderFieldsTooLarge, mediaType, "headers_too_large", "header");
        await AssertApiError(lineResponse, HttpStatusCode.RequestUriTooLong, "application/problem+json", "uri_too_long", "request line");
        Assert.Equal(HttpStatusCode.OK, (await cluster.Balancer.GetAsync(path)).StatusCode);
    }

    /// <summary>Asserts an error in the shape of its API (OpenAI's error object as <c>application/json</c>, problem details otherwise)
    /// with <paramref name="code"/>; returns its message.</summary>
    private static async Task<string?> AssertApiError(HttpResponseMessage response, HttpStatusCode status, string mediaType, string code, string what)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{what}: {response.StatusCode} {text}");
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(text);
        var error = mediaType == "application/json" ? json.RootElement.GetProperty("error") : json.RootElement;
        Assert.Equal(code, error.GetProperty("code").GetString());
        return error.GetProperty("message").GetString();
    }

    [Fact]
    public async Task A_task_and_its_audio_are_served_by_the_gateway_that_did_not_create_it()
    {
        using var creator = cluster.Gateway("gateway-a");
        using var other = cluster.Gateway("gateway-b");
        var created = await creator.Synthesize(new { text = "Hola desde el otro nodo.", voice_id = "es-female-1", format = "mp3" });
        Assert.Equal("gateway-a", created.Headers.GetValues(NodeHeader).Single());
        var body = await created.Json();

        var task = await WaitUntilFinished(other, body.GetProperty("task_id").GetString()!);
        Assert.Equal("completed", task.GetProperty("status").GetString());

        var audio = await other.GetAsync(body.GetProperty("audio_url").GetString());
        Assert.Equal(HttpStatusCode.OK, audio.StatusCode);
        Assert.Equal("gateway-b", audio.Headers.GetValues(NodeHeader).Single());
        Assert.Equal("audio/mpeg", audio.Content.Headers.ContentType?.MediaType);
        Assert.True((await audio.Content.ReadAsByteArrayAsync()).Length > 1000);
    }

    [Fact]
    public async Task The_orleans_client_sample_synthesizes_through_the_cluster()
    {
        var output = Path.Combine(cluster.StateDirectory, "sample.wav");
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = RealClusterFixture.BinaryFolder(Path.Combine("samples", "MitTts.ClientSample")), RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "MitTts.ClientSample.dll", cluster.RedisEndpoint, output, "Hola desde un servicio interno.", "es-female-1" })
        {
            start.ArgumentList.Add(argument);
        }

        using var sample = Process.Start(start)!;
        var stdout = sample.StandardOutput.ReadToEndAsync();
        var stderr = sample.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await sample.WaitForExitAsync(limit.Token);
        if (sample.ExitCode != 0)
        {
            var status = await (await cluster.Balancer.GetAsync("/api/v1/status")).Content.ReadAsStringAsync();
            Assert.Fail($"exit {sample.ExitCode}\n{await stdout}\n{await stderr}\n{status}\n{cluster.Logs()}");
        }

        Assert.True(sample.ExitCode == 0, $"exit {sample.ExitCode}\n{await stdout}\n{await stderr}");
        var wav = await File.ReadAllBytesAsync(output);
        Assert.Equal("RIFF"u8.ToArray(), wav[..4]);
        Assert.True(wav.Length > 22050, "a sentence of 16-bit audio at 22050 Hz is well over half a second");
        Assert.Contains("written to", await stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Completed_tasks_are_still_served_after_every_silo_restarts_with_the_same_redis()
    {
        var tasks = new List<(string Id, string Url, int Length)>();
        for (var i = 0; i < 3; i++)
        {
            var body = await (await cluster.Balancer.Synthesize(new { text = $"Tarea persistente {i}.", voice_id = "es-male-1" })).Json();
            var id = body.GetProperty("task_id").GetString()!;
            await WaitUntilFinished(cluster.Balancer, id);
            var audio = await cluster.Balancer.GetByteArrayAsync(body.GetProperty("audio_url").GetString());
            tasks.Add((id, body.GetProperty("audio_url").GetString()!, audio.Length));
        }

        // Every activation (and its in-memory state) goes; only Redis remains.
        await Task.WhenAll(cluster.Process("silo-a").Stop(TimeSpan.FromSeconds(10)), cluster.Process("silo-b").Stop(TimeSpan.FromSeconds(10)));
        await cluster.EnsureHealthy();

        foreach (var (id, url, length) in tasks)
        {
            var task = await (await cluster.Balancer.GetAsync($"/api/v1/tasks/{id}")).Json();
            Assert.Equal("completed", task.GetProperty("status").GetString());
            Assert.Equal(length, (await cluster.Balancer.GetByteArrayAsync(url)).Length);
        }
    }

    [Fact]
    public async Task An_ended_task_leaves_only_its_result_in_redis()
    {
        var body = await (await cluster.Balancer.Synthesize(new { text = "Nada más que el resultado.", voice_id = "es-female-1" })).Json();
        var id = body.GetProperty("task_id").GetString()!;
        await WaitUntilFinished(cluster.Balancer, id);

        // The task grain's own record (written at submit, so a survivor can take the task over) goes when the task ends: the result
        // store's keys answer /tasks and the audio from then on.
        await using var redis = await ConnectionMultiplexer.ConnectAsync(cluster.RedisEndpoint);
        var server = redis.GetServer(cluster.RedisEndpoint);
        string[] keys = [];
        await cluster.WaitFor(async () =>
        {
            keys = [.. (await server.KeysAsync(pattern: $"*{id}*").ToArrayAsync()).Select(key => key.ToString())];
            return keys.Length > 0 && keys.All(key => key.Contains(":result:", StringComparison.Ordinal) || key.Contains(":audio:", StringComparison.Ordinal));
        }, "only the result's keys to remain", TimeSpan.FromSeconds(20), () => Task.FromResult(string.Join(", ", keys)));
        Assert.Contains(keys, key => key.Contains(":result:", StringComparison.Ordinal));
        Assert.Equal("completed", (await (await cluster.Balancer.GetAsync($"/api/v1/tasks/{id}")).Json()).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Queued_tasks_of_a_killed_silo_complete_on_the_survivor()
    {
        var text = string.Concat(Enumerable.Repeat("La síntesis continúa en el otro nodo cuando este muere sin avisar. ", 70));
        var ids = new List<string>();
        for (var i = 0; i < 16; i++)
        {
            var body = await (await cluster.Balancer.Synthesize(new { text = $"{i}. {text}", voice_id = "es-female-1", format = "pcm" })).Json();
            ids.Add(body.GetProperty("task_id").GetString()!);
        }

        // The victim must have work queued when it dies, or the test proves nothing.
        using var gateway = cluster.Gateway("gateway-a");
        var queued = await QueuedOn(gateway, "silo-a/cpu:0");
        Assert.True(queued > 0, "silo-a had nothing queued: make the texts longer");
        await cluster.Process("silo-a").Kill();

        var finished = new List<JsonElement>();
        foreach (var id in ids)
        {
            finished.Add(await WaitUntilFinished(cluster.Balancer, id, TimeSpan.FromSeconds(90)));
        }

        Assert.All(finished, task => Assert.Equal("completed", task.GetProperty("status").GetString()));
        Assert.True(cluster.Process("silo-b").Logged("silo-a", "died"), "silo-b did not log that silo-a died");
    }

    [Fact]
    public async Task Redis_down_gives_a_clear_503_and_the_cluster_recovers_by_itself()
    {
        var before = await (await cluster.Balancer.Synthesize(new { text = "Antes del corte.", voice_id = "es-female-1" })).Json();
        var beforeId = before.GetProperty("task_id").GetString()!;
        await WaitUntilFinished(cluster.Balancer, beforeId);

        await cluster.Process("redis").Stop(TimeSpan.FromSeconds(5));
        var refused = await cluster.Balancer.Synthesize(new { text = "Durante el corte.", voice_id = "es-female-1" });
        await refused.AssertProblem(HttpStatusCode.ServiceUnavailable, "cluster_unavailable");
        // A task stored before the outage: served from memory, or a 503 like any request that needs storage, never a 500 (Redis's
        // exceptions did not cross from the silo to the gateway).
        foreach (var (method, path) in new[] { ("GET", $"/api/v1/tasks/{beforeId}"), ("GET", $"/api/v1/audio/{beforeId}.wav"), ("DELETE", $"/api/v1/tasks/{beforeId}") })
        {
            var response = await cluster.Balancer.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
            if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.Conflict))
            {
                await response.AssertProblem(HttpStatusCode.ServiceUnavailable, "cluster_unavailable");
            }
        }

        var health = await (await cluster.Balancer.GetAsync("/api/v1/health")).Json();
        Assert.Equal("degraded", health.GetProperty("status").GetString());
        Assert.Equal("unreachable", health.GetProperty("checks").GetProperty("redis").GetString());

        await Task.Delay(TimeSpan.FromSeconds(2));
        await cluster.StartRedis();

        // Nobody restarts the silos or gateways: they reconnect on their own.
        string? afterId = null;
        await cluster.WaitFor(async () =>
        {
            var response = await cluster.Balancer.Synthesize(new { text = "Después del corte.", voice_id = "es-female-1" });
            if (!response.IsSuccessStatusCode)
            {
                return false;
            }

            afterId = (await response.Json()).GetProperty("task_id").GetString();
            return true;
        }, "synthesis after Redis came back", TimeSpan.FromSeconds(30));

        Assert.Equal("completed", (await WaitUntilFinished(cluster.Balancer, afterId!)).GetProperty("status").GetString());
        Assert.Equal("completed", (await WaitUntilFinished(cluster.Balancer, beforeId)).GetProperty("status").GetString());

        // Each gateway's Redis connection comes back on its own reconnect schedule; both must report healthy again.
        await cluster.WaitFor(
            async () => (await (await cluster.Balancer.GetAsync("/api/v1/health")).Json()).GetProperty("status").GetString() == "healthy"
                && (await (await cluster.Balancer.GetAsync("/api/v1/health")).Json()).GetProperty("status").GetString() == "healthy",
            "both gateways healthy after Redis came back",
            TimeSpan.FromSeconds(30));
    }

    private static async Task<int> QueuedOn(HttpClient client, string device)
    {
        var status = await (await client.GetAsync("/api/v1/status")).Json();
        foreach (var d in status.GetProperty("tts_engine").GetProperty("devices").EnumerateArray())
        {
            if (d.GetProperty("key").GetString() == device)
            {
                return d.GetProperty("queue_length").GetInt32() + (d.GetProperty("busy").GetBoolean() ? 1 : 0);
            }
        }

        return 0;
    }

    private async Task<JsonElement> WaitUntilFinished(HttpClient client, string taskId, TimeSpan? limit = null)
    {
        JsonElement task = default;
        await cluster.WaitFor(async () =>
        {
            var response = await client.GetAsync($"/api/v1/tasks/{taskId}");
            if (!response.IsSuccessStatusCode)
            {
                return false;
            }

            task = await response.Json();
            return task.GetProperty("status").GetString() is "completed" or "error" or "cancelled";
        }, $"task {taskId} to finish", limit ?? TimeSpan.FromSeconds(30), async () =>
            $"last seen: {task}\nstatus: {await (await client.GetAsync("/api/v1/status")).Content.ReadAsStringAsync()}");
        return task;
    }
}
