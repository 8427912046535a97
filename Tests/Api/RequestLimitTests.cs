using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace MitTts.Tests.Api;

/// <summary>A request line or headers over the limits get the API's own error with a stable code (Kestrel's answer to them is a bare
/// status), and the server goes on serving.</summary>
[Collection(GatewayCollection.Name)]
public sealed class RequestLimitTests(GatewayFixture gateway)
{
    private HttpClient Client => gateway.Client;

    [Fact]
    public async Task A_path_and_query_over_8_KiB_is_a_414_problem_and_just_under_is_served()
    {
        var refused = await Client.GetAsync("/api/v1/voices?language=" + new string('x', 8 * 1024));
        var served = await Client.GetAsync("/api/v1/health?pad=" + new string('x', (8 * 1024) - "/api/v1/health?pad=".Length));

        var body = await refused.AssertProblem(HttpStatusCode.RequestUriTooLong, "uri_too_long");
        Assert.Contains("8 KiB", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public async Task Headers_over_32_KiB_or_over_100_fields_are_a_431_problem_and_just_under_is_served()
    {
        using var large = new HttpRequestMessage(HttpMethod.Get, "/api/v1/voices");
        large.Headers.Add("X-Padding", new string('x', 33 * 1024));
        using var many = new HttpRequestMessage(HttpMethod.Get, "/api/v1/voices");
        for (var i = 0; i < 101; i++)
        {
            many.Headers.Add($"X-Field-{i}", "1");
        }

        using var under = new HttpRequestMessage(HttpMethod.Get, "/api/v1/voices");
        under.Headers.Add("X-Padding", new string('x', 30 * 1024));

        await (await Client.SendAsync(large)).AssertProblem(HttpStatusCode.RequestHeaderFieldsTooLarge, "headers_too_large");
        var body = await (await Client.SendAsync(many)).AssertProblem(HttpStatusCode.RequestHeaderFieldsTooLarge, "headers_too_large");
        Assert.Contains("100", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(under)).StatusCode);
    }

    [Fact]
    public async Task The_openai_path_answers_its_limits_in_openais_shape()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/audio/speech?x=" + new string('x', 9 * 1024))
        {
            Content = new StringContent("""{"model": "tts-1", "input": "hola", "voice": "alloy"}""", Encoding.UTF8, "application/json"),
        };
        var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestUriTooLong, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("uri_too_long", json.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_request_past_kestrels_hard_limit_gets_its_status_and_the_connection_and_server_stay_usable()
    {
        // Four times the API's limit: Kestrel refuses it before any middleware (a bare 414) and closes that connection; a raw socket,
        // so that what Kestrel sends is what is read.
        using (var socket = new TcpClient())
        {
            await socket.ConnectAsync(gateway.BaseAddress.Host, gateway.BaseAddress.Port);
            var stream = socket.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /api/v1/voices?q={new string('x', 40 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n"));
            var buffer = new byte[1024];
            var read = await stream.ReadAsync(buffer);
            Assert.StartsWith("HTTP/1.1 414", Encoding.ASCII.GetString(buffer, 0, read), StringComparison.Ordinal);
        }

        // The client's own connection, refused by the API on the way, is still the one it goes on with.
        await (await Client.GetAsync("/api/v1/voices?language=" + new string('x', 9 * 1024))).AssertProblem(HttpStatusCode.RequestUriTooLong, "uri_too_long");
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/api/v1/health")).StatusCode);
    }
}
