using System.Net;
using System.Net.Http.Json;

namespace MitTts.Tests.Api;

/// <summary>How the REST API answers what real HTTP clients send besides the happy path: spellings of <c>?wait</c>, HEAD from probes,
/// routes and methods that do not exist, and a request that could never get its audio.</summary>
[Collection(GatewayCollection.Name)]
public sealed class HttpEdgeTests(GatewayFixture gateway)
{
    private HttpClient Client => gateway.Client;

    [Theory]
    [InlineData("?wait=1")]
    [InlineData("?wait=yes")]
    [InlineData("?wait=TRUE")]
    [InlineData("?wait")]
    public async Task Wait_takes_its_usual_spellings_and_answers_with_the_audio(string query)
    {
        var response = await Client.PostAsJsonAsync("/api/v1/synthesize" + query, new { text = "Waiting.", voice_id = "en-male-1" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("audio/wav", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("RIFF"u8.ToArray(), (await response.Content.ReadAsByteArrayAsync())[..4]);
    }

    [Fact]
    public async Task Wait_false_spelled_0_queues_and_an_unreadable_wait_is_a_400_with_its_code()
    {
        var queued = await (await Client.PostAsJsonAsync("/api/v1/synthesize?wait=0", new { text = "Queued.", voice_id = "en-male-1" })).Json();
        var refused = await Client.PostAsJsonAsync("/api/v1/synthesize?wait=maybe", new { text = "Never.", voice_id = "en-male-1" });

        Assert.Equal("queued", queued.GetProperty("status").GetString());
        await refused.AssertProblem(HttpStatusCode.BadRequest, "invalid_wait", "wait");
    }

    [Theory]
    [InlineData("PUT", "/api/v1/config", """{"logging": {"level": "INFO"}}""", "text/plain")]
    [InlineData("PUT", "/api/v1/config", "logging=INFO", "application/x-www-form-urlencoded")]
    [InlineData("POST", "/v1/audio/speech", """{"model": "tts-1", "input": "hola", "voice": "alloy"}""", "text/plain")]
    [InlineData("POST", "/v1/audio/speech", "input=hola", "application/x-www-form-urlencoded")]
    public async Task A_JSON_endpoint_refuses_a_body_sent_as_a_form_or_plain_text_with_415(string method, string path, string body, string type)
    {
        // A web page may send these across origins without asking first; a JSON body must say it is one.
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent(body, System.Text.Encoding.UTF8, type) };
        var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        var error = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        var code = path.StartsWith("/v1", StringComparison.Ordinal) ? error.GetProperty("error").GetProperty("code") : error.GetProperty("code");
        Assert.Equal("unsupported_media_type", code.GetString());
    }

    [Fact]
    public async Task The_OpenAI_paths_answer_a_missing_route_or_method_in_OpenAIs_shape()
    {
        var missing = await Client.GetAsync("/v1/nothing-here");
        var wrongMethod = await Client.GetAsync("/v1/audio/speech");

        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("not_found", (await missing.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
        var error = (await wrongMethod.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("error");
        Assert.Equal("method_not_allowed", error.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Store_false_without_waiting_is_refused_since_nobody_would_ever_get_the_audio()
    {
        var refused = await Client.PostAsJsonAsync("/api/v1/synthesize", new { text = "Lost.", voice_id = "en-male-1", store = false });
        var waited = await Client.PostAsJsonAsync("/api/v1/synthesize?wait=true", new { text = "Kept by the caller.", voice_id = "en-male-1", store = false });

        await refused.AssertProblem(HttpStatusCode.BadRequest, "store_without_wait", "store");
        Assert.Equal(HttpStatusCode.OK, waited.StatusCode);
        Assert.Equal("audio/wav", waited.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Spaces_around_a_voice_format_or_priority_are_forgiven_alike()
    {
        var accepted = await (await Client.PostAsJsonAsync("/api/v1/synthesize",
            new { text = "Trimmed.", voice_id = " en-male-1 ", format = " MP3 ", priority = " high " })).Json();

        Assert.Equal("queued", accepted.GetProperty("status").GetString());
        Assert.EndsWith(".mp3", accepted.GetProperty("audio_url").GetString(), StringComparison.Ordinal);
        var task = await (await Client.GetAsync($"/api/v1/tasks/{accepted.GetProperty("task_id").GetString()}")).Json();
        Assert.Equal(("en-male-1", "high"), (task.GetProperty("voice_id").GetString(), task.GetProperty("priority").GetString()));
    }

    [Fact]
    public async Task Routes_and_methods_that_do_not_exist_answer_with_a_problem_and_a_stable_code()
    {
        await (await Client.GetAsync("/api/v1/no-such-thing")).AssertProblem(HttpStatusCode.NotFound, "not_found");

        // The message points where to look: under /api/v1 already, to the routes; elsewhere, to /api/v1.
        var inside = await (await Client.GetAsync("/api/v1/tasks")).Json(HttpStatusCode.NotFound);
        Assert.DoesNotContain("the API is under", inside.GetProperty("message").GetString(), StringComparison.Ordinal);
        var outside = await (await Client.GetAsync("/tasks")).Json(HttpStatusCode.NotFound);
        Assert.Contains("the API is under /api/v1", outside.GetProperty("message").GetString(), StringComparison.Ordinal);
        await (await Client.PutAsync("/api/v1/health", null)).AssertProblem(HttpStatusCode.MethodNotAllowed, "method_not_allowed");
        await (await Client.DeleteAsync("/api/v1/voices")).AssertProblem(HttpStatusCode.MethodNotAllowed, "method_not_allowed");
    }

    [Fact]
    public async Task Probes_and_audio_answer_head_with_the_headers_of_get_and_no_body()
    {
        using var headHealth = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/health"));
        using var headReady = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/api/v1/ready"));
        Assert.Equal(HttpStatusCode.OK, headHealth.StatusCode);
        Assert.Equal("application/json", headHealth.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await headHealth.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, headReady.StatusCode);

        var waited = await Client.PostAsJsonAsync("/api/v1/synthesize?wait=true", new { text = "Heads up.", voice_id = "en-male-1", store = true });
        var audioUrl = $"/api/v1/audio/{waited.Headers.GetValues("X-Task-Id").Single()}.wav";
        using var head = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, audioUrl));
        var get = await Client.GetByteArrayAsync(audioUrl);

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(get.Length, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }
}
