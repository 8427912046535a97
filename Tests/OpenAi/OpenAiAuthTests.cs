using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MitTts.Tests.Api;
using MitTts.Tests.Security;
using MitTts.Tests.Support;

namespace MitTts.Tests.OpenAi;

/// <summary>With auth on, <c>/v1</c> takes a configured API key as the bearer (what OpenAI clients send) as well as an access token;
/// refusals are OpenAI-shaped, and the task belongs to the key's user.</summary>
[Collection(SecureGatewayCollection.Name)]
public sealed class OpenAiAuthTests(SecureGatewayFixture gateway)
{
    [Fact]
    public async Task An_api_key_is_the_openai_clients_bearer_and_the_task_is_its_users()
    {
        using var run = await OpenAiNodeClient.Run(gateway.BaseAddress, "alice-key",
            new { name = "alice", @params = new { model = "tts-1", input = "Authorized speech.", voice = "nova", response_format = "mp3" } });
        var result = run["alice"];
        var taskId = result.GetProperty("taskId").GetString();
        using var alice = await gateway.LoggedIn("alice-key");
        using var bob = await gateway.LoggedIn("bob-key");

        Assert.Equal(200, result.GetProperty("status").GetInt32());
        var decoded = await AudioDecoders.Ffmpeg(run.Audio("alice"), "mp3");
        Assert.True(decoded.DurationSeconds > 0.5, $"{decoded.DurationSeconds} s");
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"/api/v1/tasks/{taskId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/api/v1/tasks/{taskId}")).StatusCode);
    }

    [Fact]
    public async Task No_key_or_a_wrong_key_is_an_openai_shaped_401()
    {
        using var wrong = await OpenAiNodeClient.Run(gateway.BaseAddress, "not-a-key",
            new { name = "wrong", @params = new { model = "tts-1", input = "Hello.", voice = "alloy" } });
        using var none = await OpenAiNodeClient.Run(gateway.BaseAddress, null,
            new { name = "none", client = "fetch", @params = new { model = "tts-1", input = "Hello.", voice = "alloy" } });
        var models = await gateway.Anonymous.GetAsync("/v1/models");

        Assert.Equal((401, "AuthenticationError"), (wrong["wrong"].GetProperty("status").GetInt32(), wrong["wrong"].GetProperty("errorClass").GetString()));
        Assert.Equal("invalid_api_key", wrong["wrong"].GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(401, none["none"].GetProperty("status").GetInt32());
        Assert.Equal("missing_api_key", none["none"].GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", none["none"].GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
        var body = await models.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("missing_api_key", body.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task An_access_token_works_on_v1_and_an_api_key_works_nowhere_else()
    {
        using var withToken = await gateway.LoggedIn("bob-key");
        using var withKey = new HttpClient { BaseAddress = gateway.BaseAddress };
        withKey.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "bob-key");

        var byToken = await withToken.PostAsync("/v1/audio/speech",
            new StringContent("""{"model":"tts-1","input":"Token speech.","voice":"onyx","response_format":"wav"}""", System.Text.Encoding.UTF8, "application/json"));
        var keyOnV1 = await withKey.GetAsync("/v1/models");
        var keyElsewhere = await withKey.GetAsync("/api/v1/voices");

        Assert.Equal(HttpStatusCode.OK, byToken.StatusCode);
        Assert.True((await AudioDecoders.Ffmpeg(await byToken.Content.ReadAsByteArrayAsync(), "wav")).DurationSeconds > 0.5);
        Assert.Equal(HttpStatusCode.OK, keyOnV1.StatusCode);
        await keyElsewhere.AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
    }

    [Fact]
    public async Task The_synthesize_rate_limit_applies_per_key_and_answers_an_openai_shaped_429()
    {
        await using var limited = await RunningGateway.Start(SecureGatewayFixture.Settings("--security:rate_limits:synthesize=2/minute"));
        object Speech(string name) => new { name, @params = new { model = "tts-1", input = "Once more.", voice = "alloy", response_format = "pcm" } };

        using var run = await OpenAiNodeClient.Run(limited.BaseAddress, "alice-key", Speech("1"), Speech("2"), Speech("3"));
        using var other = await OpenAiNodeClient.Run(limited.BaseAddress, "bob-key", Speech("bob"));

        Assert.Equal((200, 200), (run["1"].GetProperty("status").GetInt32(), run["2"].GetProperty("status").GetInt32()));
        Assert.Equal((429, "RateLimitError"), (run["3"].GetProperty("status").GetInt32(), run["3"].GetProperty("errorClass").GetString()));
        Assert.Equal(("rate_limit_exceeded", "requests"), (run["3"].GetProperty("error").GetProperty("code").GetString(), run["3"].GetProperty("error").GetProperty("type").GetString()));
        Assert.Equal(200, other["bob"].GetProperty("status").GetInt32());
    }
}
