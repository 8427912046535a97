using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using MitTts.Tests.Api;

namespace MitTts.Tests.Observability;

/// <summary>The seed's monitoring and logging switches as an operator sets them: metrics off, and plain-text logs in Development.</summary>
public sealed partial class OperatorSettingsTests
{
    [Fact]
    public async Task With_metrics_disabled_the_http_port_has_no_metrics_and_the_prometheus_port_is_not_opened()
    {
        await using var server = await GatewayProcess.Start(new Dictionary<string, string> { ["MIT_TTS_METRICS_ENABLED"] = "false" });
        (await server.Client.Synthesize(new { text = "Sin métricas.", voice_id = "es-female-1" }, wait: true)).EnsureSuccessStatusCode();

        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/api/v1/metrics")).StatusCode);
        using var scraper = new HttpClient { BaseAddress = server.MetricsAddress, Timeout = TimeSpan.FromSeconds(5) };
        await Assert.ThrowsAsync<HttpRequestException>(() => scraper.GetAsync("/metrics"));
    }

    [Fact]
    public async Task In_development_log_lines_are_plain_text_with_the_request_id()
    {
        await using var server = await GatewayProcess.Start(new Dictionary<string, string>
        {
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
        });
        var response = await server.Client.Synthesize(new { text = "Texto plano.", voice_id = "es-female-1" });
        response.EnsureSuccessStatusCode();
        var requestId = response.Headers.GetValues("X-Request-Id").Single();

        IReadOnlyList<string> lines = [];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!lines.Any(IsRequestLine(requestId)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            lines = server.LogLines();
        }

        var request = Assert.Single(lines, l => IsRequestLine(requestId)(l));
        Assert.Matches("\"TextLength\": ?12\\b", request);
        Assert.All(lines.Where(l => TextLine().IsMatch(l) is false), l => Assert.False(IsJsonObject(l), $"a JSON line in Development: {l}"));
        Assert.Contains(lines, l => TextLine().IsMatch(l));
    }

    private static Func<string, bool> IsRequestLine(string requestId) => line =>
        TextLine().IsMatch(line) && line.Contains("HTTP POST /api/v1/synthesize responded 200", StringComparison.Ordinal)
        && Regex.IsMatch(line, $"\"RequestId\": ?\"{Regex.Escape(requestId)}\"");

    private static bool IsJsonObject(string line)
    {
        try
        {
            return JsonDocument.Parse(line).RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    // "22:41:07.123 INF message {properties}"
    [GeneratedRegex(@"^\d{2}:\d{2}:\d{2}\.\d{3} (VRB|DBG|INF|WRN|ERR|FTL) ")]
    private static partial Regex TextLine();
}
