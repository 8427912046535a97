using System.Text.Json;
using MitTts.Tests.Api;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Observability;

/// <summary>Log lines as an operator's log pipeline reads them: one JSON object per line, with the ids to follow a request, and no
/// user text at Information level.</summary>
public sealed class LoggingTests
{
    [Fact]
    public async Task Log_lines_are_json_with_request_task_and_session_ids_and_carry_no_user_text()
    {
        await using var server = await GatewayProcess.Start();
        const string secret = "Mi contraseña es caballo azul";
        var response = await server.Client.Synthesize(new { text = secret + ".", voice_id = "es-female-1" });
        var taskId = (await response.Json()).GetProperty("task_id").GetString()!;
        var requestId = response.Headers.GetValues("X-Request-Id").Single();

        string sessionId;
        await using (var socket = await ProtocolClient.Connect(server.Address))
        {
            await socket.Send(new { type = "connect", session_id = "log-session-1" });
            sessionId = (await socket.ReceiveUntil(m => m.Type == "connected"))[^1].Str("session_id")!;
            await socket.Send(new { type = "synthesize", text = secret + " otra vez.", voice_id = "es-female-1", format = "pcm" });
            await socket.ReceiveUntil(m => m.Str("status") is "completed" or "error");
        }

        // Lines are written as they happen; the request line is there once the answer has gone out, the session line once the socket
        // joined; poll the file until both are.
        IReadOnlyList<JsonElement> lines = [];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            lines = [.. server.LogLines().Select(line => JsonDocument.Parse(line).RootElement.Clone())];
            if (lines.Any(IsRequestLine(requestId)) && lines.Any(l => Property(l, "SessionId") == sessionId))
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Single(lines, l => IsRequestLine(requestId)(l));
        var request = lines.Single(IsRequestLine(requestId));
        Assert.Equal(taskId, Property(request, "TaskId"));
        Assert.Equal((secret + ".").Length.ToString(System.Globalization.CultureInfo.InvariantCulture), Property(request, "TextLength"));
        Assert.Contains(lines, l => Property(l, "SessionId") == sessionId && Property(l, "@m")!.Contains(sessionId, StringComparison.Ordinal));

        // Every line is compact JSON with a time and a message; no line carries what the user said.
        Assert.All(lines, l =>
        {
            Assert.NotNull(Property(l, "@t"));
            Assert.NotNull(Property(l, "@m"));
        });
        var all = string.Join('\n', server.LogLines());
        Assert.DoesNotContain("caballo azul", all, StringComparison.Ordinal);
        Assert.DoesNotContain("contrase", all, StringComparison.Ordinal);
    }

    private static Func<JsonElement, bool> IsRequestLine(string requestId) =>
        l => Property(l, "RequestId") == requestId && Property(l, "RequestPath") == "/api/v1/synthesize";

    private static string? Property(JsonElement line, string name) =>
        line.TryGetProperty(name, out var value) ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText() : null;
}
