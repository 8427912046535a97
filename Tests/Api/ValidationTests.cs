using System.Net;

namespace MitTts.Tests.Api;

[Collection(GatewayCollection.Name)]
public sealed class ValidationTests(GatewayFixture gateway)
{
    public static TheoryData<string, string, string?> BadBodies => new()
    {
        { "{}", "text_required", "text" },
        { """{"text": null}""", "text_required", "text" },
        { """{"text": ""}""", "text_empty", "text" },
        { """{"text": "  \n\t "}""", "text_empty", "text" },
        { """{"text": "\u200b\u200d\ufeff \u2060"}""", "text_empty", "text" },
        { $$"""{"text": "{{new string('a', GatewayFixture.MaxTextLength + 1)}}"}""", "text_too_long", "text" },
        { """{"text": "bell \u0007 here"}""", "invalid_text", "text" },
        { """{"text": "nul \u0000 here"}""", "invalid_text", "text" },
        { """{"text": "escape \u001b[31m red"}""", "invalid_text", "text" },
        { """{"text": "lone \ud800 surrogate"}""", "invalid_json", "text" },
        { """{"text": "hola", "voice_id": "ES_FEMALE"}""", "invalid_voice_id", "voice_id" },
        { """{"text": "hola", "voice_id": "xx-robot-1"}""", "voice_not_found", "voice_id" },
        { """{"text": "hola", "format": "aiff"}""", "unsupported_format", "format" },
        { """{"text": "hola", "format": "1"}""", "unsupported_format", "format" },
        { """{"text": "hola", "priority": "urgent"}""", "invalid_priority", "priority" },
        { """{"text": "hola", "priority": "2"}""", "invalid_priority", "priority" },
        { """{"text": "hola", "speed": 0.49}""", "speed_out_of_range", "speed" },
        { """{"text": "hola", "speed": 2.01}""", "speed_out_of_range", "speed" },
        { """{"text": "hola", "speed": "NaN"}""", "speed_out_of_range", "speed" },
        { """{"text": "hola", "speed": "-Infinity"}""", "speed_out_of_range", "speed" },
        { """{"text": "hola", "pitch": "NaN"}""", "pitch_out_of_range", "pitch" },
        { """{"text": "hola", "pitch": 0}""", "pitch_out_of_range", "pitch" },
        { """{"text": "hola", "pitch": 3}""", "pitch_out_of_range", "pitch" },
        { """{"text": "hola", "speed": "fast"}""", "invalid_json", "speed" },
        { """{"text": 42}""", "invalid_json", "text" },
        { """{"text": "hola", "session_id": "bad id!"}""", "invalid_session_id", "session_id" },
        { """{"text": """, "invalid_json", null },
        { "not json at all", "invalid_json", null },
        { "[]", "invalid_json", null },
        { "null", "invalid_json", null },
        { "", "invalid_json", null },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Bad_input_gets_400_with_a_stable_code_and_the_field(string body, string code, string? field)
    {
        var response = await gateway.Client.PostRaw(body);

        await response.AssertProblem(HttpStatusCode.BadRequest, code, field);
    }

    [Theory]
    [InlineData("[]", "The body must be a JSON object.")]
    [InlineData("\"hola\"", "The body must be a JSON object.")]
    [InlineData("5", "The body must be a JSON object.")]
    [InlineData("{", "The body is not valid JSON.")]
    [InlineData("{\"text\": ", "The body is not valid JSON at 'text': wrong type or syntax.")]
    [InlineData("not json at all", "The body is not valid JSON.")]
    public async Task A_body_that_is_not_an_object_is_told_apart_from_one_that_is_not_JSON(string body, string message)
    {
        var problem = await (await gateway.Client.PostRaw(body)).AssertProblem(HttpStatusCode.BadRequest, "invalid_json");

        Assert.Equal(message, problem.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Text_of_exactly_the_maximum_length_is_accepted()
    {
        var text = string.Concat(Enumerable.Repeat("abcd ", GatewayFixture.MaxTextLength / 5));

        var accepted = await (await gateway.Client.Synthesize(new { text, voice_id = "en-male-1", priority = "HIGH" })).Json();

        Assert.Equal("queued", accepted.GetProperty("status").GetString());
        await gateway.Client.DeleteAsync($"/api/v1/tasks/{accepted.GetProperty("task_id").GetString()}");
    }

    [Fact]
    public async Task A_non_JSON_content_type_is_415()
    {
        var response = await gateway.Client.PostRaw("text=hola", "application/x-www-form-urlencoded");

        await response.AssertProblem(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    [Fact]
    public async Task A_body_over_one_MiB_is_413()
    {
        // Expect: 100-continue, as a careful client sends a large body: the server refuses on the declared length before any of it is
        // sent. Without it the client may still be writing when the 413 closes the connection, and reads a broken pipe, not the answer.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/synthesize")
        {
            Content = new StringContent($$"""{"text": "{{new string('a', 1100 * 1024)}}"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;
        var response = await gateway.Client.SendAsync(request);

        await response.AssertProblem(HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
    }

    [Fact]
    public async Task The_server_stays_up_after_a_burst_of_bad_input()
    {
        var bad = BadBodies.Select(row => gateway.Client.PostRaw((string)row[0]));
        var responses = await Task.WhenAll(bad);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode));
        var health = await gateway.Client.GetAsync("/api/v1/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var good = await gateway.Client.Synthesize(new { text = "Still speaking.", voice_id = "en-male-1" }, wait: true);
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
    }
}
