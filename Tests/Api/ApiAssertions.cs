using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace MitTts.Tests.Api;

public static class ApiAssertions
{
    /// <summary>Asserts a problem-details error with the given status, stable code and field, and returns its body.</summary>
    public static async Task<JsonElement> AssertProblem(this HttpResponseMessage response, HttpStatusCode status, string code, string? field = null)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal(code, body.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("message").GetString()));
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        if (field is not null)
        {
            Assert.Equal(field, body.GetProperty("field").GetString());
        }

        return body;
    }

    public static async Task<JsonElement> Json(this HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    public static Task<HttpResponseMessage> Synthesize(this HttpClient client, object body, bool wait = false) =>
        client.PostAsJsonAsync(wait ? "/api/v1/synthesize?wait=true" : "/api/v1/synthesize", body);

    public static Task<HttpResponseMessage> PostRaw(this HttpClient client, string body, string contentType = "application/json") =>
        client.PostAsync("/api/v1/synthesize", new StringContent(body, System.Text.Encoding.UTF8, contentType));
}
