using System.Net.Http.Json;

namespace MitTts.Tests.Api;

[Collection(GatewayCollection.Name)]
public sealed class ServerApiTests(GatewayFixture gateway)
{
    private static readonly string[] TaskTimes = ["created_at", "started_at", "completed_at", "expires_at"];

    [Fact]
    public async Task Health_is_healthy_with_version_uptime_and_timestamp()
    {
        var body = await (await gateway.Client.GetAsync("/api/v1/health")).Json();

        Assert.Equal("healthy", body.GetProperty("status").GetString());
        Assert.Equal("1.0.0", body.GetProperty("version").GetString());
        Assert.True(body.GetProperty("uptime").GetInt64() >= 0);
        Assert.True(body.GetProperty("timestamp").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-1));
    }

    [Fact]
    public async Task Times_are_utc_iso_8601_with_six_decimals_as_every_python_reads_them()
    {
        // Up to seven decimals, trailing zeros dropped, came before: Python's datetime.fromisoformat before 3.11 reads three or six.
        var pattern = new System.Text.RegularExpressions.Regex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$");
        var times = new List<string> { (await (await gateway.Client.GetAsync("/api/v1/health")).Json()).GetProperty("timestamp").GetString()! };
        for (var i = 0; i < 5; i++)
        {
            var response = await gateway.Client.PostAsJsonAsync("/api/v1/synthesize?wait=true", new { text = $"Hora {i}.", voice_id = "es-female-1", store = true });
            var task = await (await gateway.Client.GetAsync($"/api/v1/tasks/{response.Headers.GetValues("X-Task-Id").Single()}")).Json();
            times.AddRange(from name in TaskTimes select task.GetProperty(name).GetString()!);
        }

        Assert.All(times, t => Assert.Matches(pattern, t));
        Assert.All(times, t => Assert.Equal(TimeSpan.Zero, DateTimeOffset.Parse(t, System.Globalization.CultureInfo.InvariantCulture).Offset));
    }

    [Theory]
    [InlineData("/health", "status", "healthy")]
    [InlineData("/ready", "status", "ready")]
    public async Task The_probes_answer_at_the_root_as_under_the_api_and_stay_out_of_the_openapi_document(string path, string field, string expected)
    {
        var root = await gateway.Client.GetAsync(path);
        var api = await (await gateway.Client.GetAsync("/api/v1" + path)).Json();
        var document = await (await gateway.Client.GetAsync("/openapi/v1.json")).Json();

        Assert.Equal(System.Net.HttpStatusCode.OK, root.StatusCode);
        var body = await root.Json();
        Assert.Equal(expected, body.GetProperty(field).GetString());
        Assert.Equal(api.EnumerateObject().Select(p => p.Name), body.EnumerateObject().Select(p => p.Name));
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Contains("/api/v1" + path, paths);
        Assert.DoesNotContain(path, paths);
    }

    [Fact]
    public async Task The_seeds_endpoints_answer_at_the_root_as_under_the_api_and_stay_out_of_the_openapi_document()
    {
        // The seed writes GET /status, POST /synthesize, … without its base path /api/v1: a client built from it may leave it out.
        var paths = (await (await gateway.Client.GetAsync("/openapi/v1.json")).Json()).GetProperty("paths").EnumerateObject().Select(p => p.Name).ToArray();
        foreach (var path in new[] { "/status", "/voices", "/config" })
        {
            var root = await gateway.Client.GetAsync(path);
            Assert.True(root.StatusCode == System.Net.HttpStatusCode.OK, $"{path}: {root.StatusCode}");
            var api = await (await gateway.Client.GetAsync("/api/v1" + path)).Json();
            Assert.Equal(api.EnumerateObject().Select(p => p.Name), (await root.Json()).EnumerateObject().Select(p => p.Name));
            Assert.Contains("/api/v1" + path, paths);
            Assert.DoesNotContain(path, paths);
        }

        var queued = await gateway.Client.PostAsJsonAsync("/synthesize", new { text = "Desde la raíz.", voice_id = "es-female-1" });
        Assert.Equal(System.Net.HttpStatusCode.OK, queued.StatusCode);
        var taskId = (await queued.Json()).GetProperty("task_id").GetString();
        var task = await gateway.Client.GetAsync($"/tasks/{taskId}");
        Assert.Equal(System.Net.HttpStatusCode.OK, task.StatusCode);
        Assert.Equal(taskId, (await task.Json()).GetProperty("task_id").GetString());
        var unknown = await gateway.Client.DeleteAsync("/tasks/task_doesnotexist");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("task_not_found", (await unknown.Json(System.Net.HttpStatusCode.NotFound)).GetProperty("code").GetString());
        Assert.DoesNotContain("/synthesize", paths);
        Assert.DoesNotContain("/tasks/{task_id}", paths);

        // Bad input at the root gets the same stable codes.
        var bad = await gateway.Client.PostAsJsonAsync("/synthesize", new { text = "" });
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal((await (await gateway.Client.PostAsJsonAsync("/api/v1/synthesize", new { text = "" })).Json(System.Net.HttpStatusCode.BadRequest)).GetProperty("code").GetString(),
            (await bad.Json(System.Net.HttpStatusCode.BadRequest)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task Status_reports_server_engine_and_real_resource_figures()
    {
        var body = await (await gateway.Client.GetAsync("/api/v1/status")).Json();

        var server = body.GetProperty("server");
        Assert.Equal("running", server.GetProperty("status").GetString());
        Assert.True(server.GetProperty("connections").GetInt32() >= 1);
        var engine = body.GetProperty("tts_engine");
        Assert.Equal("ready", engine.GetProperty("status").GetString());
        Assert.Contains("es", engine.GetProperty("loaded_models").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("es-female-1", engine.GetProperty("loaded_voices").EnumerateArray().Select(e => e.GetString()));
        Assert.True(engine.GetProperty("queue_size").GetInt32() >= 0);
        var device = Assert.Single(engine.GetProperty("devices").EnumerateArray());
        Assert.Equal("local/cpu:0", device.GetProperty("key").GetString());
        Assert.Equal(["normal", "high", "critical"], device.GetProperty("queued").EnumerateObject().Select(p => p.Name));
        var resources = body.GetProperty("resources");
        Assert.InRange(resources.GetProperty("cpu_usage").GetDouble(), 0, 100);
        Assert.True(resources.GetProperty("memory_usage").GetDouble() > 10, "a .NET process uses more than 10 MB");
        Assert.True(resources.GetProperty("disk_usage").GetDouble() > 0);
    }

    [Fact]
    public async Task Queue_size_counts_the_jobs_waiting_not_the_one_running_as_the_metric_and_the_alert_do()
    {
        var text = string.Join(" ", Enumerable.Repeat("Una frase larga que tarda en decirse, para que la tarea siga sonando.", 60));
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add((await (await gateway.Client.PostAsJsonAsync("/api/v1/synthesize", new { text = $"{i}. {text}", voice_id = "es-male-1", format = "pcm", speed = 0.5 })).Json())
                .GetProperty("task_id").GetString()!);
        }

        try
        {
            // A status taken while a job runs: the running one is not in the queue (it said 1 more than the metric).
            var seen = false;
            for (var tries = 0; tries < 200 && !seen; tries++)
            {
                var engine = (await (await gateway.Client.GetAsync("/api/v1/status")).Json()).GetProperty("tts_engine");
                var device = engine.GetProperty("devices").EnumerateArray().Single();
                if (device.GetProperty("busy").GetBoolean())
                {
                    Assert.Equal(device.GetProperty("queue_length").GetInt32(), engine.GetProperty("queue_size").GetInt32());
                    seen = true;
                }
            }

            Assert.True(seen, "no status was taken while a job ran");
        }
        finally
        {
            foreach (var id in ids)
            {
                (await gateway.Client.DeleteAsync($"/api/v1/tasks/{id}")).Dispose();
            }
        }
    }

    [Fact]
    public async Task The_OpenAPI_document_and_the_interactive_page_are_served()
    {
        var document = await (await gateway.Client.GetAsync("/openapi/v1.json")).Json();
        var page = await gateway.Client.GetAsync("/docs/index.html");

        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Contains("/api/v1/synthesize", paths);
        Assert.Contains("/api/v1/tasks/{task_id}", paths);
        Assert.Contains("/api/v1/voices", paths);
        var body = document.GetProperty("paths").GetProperty("/api/v1/synthesize").GetProperty("post").GetProperty("requestBody");
        var schema = body.GetProperty("content").GetProperty("application/json").GetProperty("schema");
        if (schema.TryGetProperty("$ref", out var reference))
        {
            schema = document.GetProperty("components").GetProperty("schemas").GetProperty(reference.GetString()!.Split('/')[^1]);
        }

        Assert.Equal(["text"], schema.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        Assert.True(schema.GetProperty("properties").TryGetProperty("voice_id", out _));
        // Auth is off here: nothing to send, and the document asks for nothing.
        Assert.False(document.TryGetProperty("components", out var components) && components.TryGetProperty("securitySchemes", out _));
        Assert.False(document.GetProperty("paths").GetProperty("/api/v1/synthesize").GetProperty("post").TryGetProperty("security", out _));
        Assert.True(page.IsSuccessStatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
    }
}
