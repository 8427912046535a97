using System.Net;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Api;

/// <summary><c>GET /api/v1/sessions/{session_id}</c>: what a session holds, from REST and from its socket.</summary>
[Collection(GatewayCollection.Name)]
public sealed class SessionsApiTests(GatewayFixture gateway)
{
    private HttpClient Client => gateway.Client;

    [Fact]
    public async Task A_session_lists_its_unfinished_rest_tasks_and_counts_those_that_ended()
    {
        var session = "rest-" + Guid.NewGuid().ToString("N");
        var text = string.Join(' ', Enumerable.Repeat("Una frase larga que mantiene la tarea ocupada durante un rato.", 40));
        var taskId = (await (await Client.Synthesize(new { text, voice_id = "es-female-1", format = "pcm", session_id = session })).Json())
            .GetProperty("task_id").GetString()!;

        var running = await (await Client.GetAsync($"/api/v1/sessions/{session}")).Json();
        Assert.Equal(session, running.GetProperty("session_id").GetString());
        Assert.Equal([taskId], running.GetProperty("active_tasks").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(0, running.GetProperty("completed_tasks").GetInt64());
        Assert.True(running.GetProperty("last_activity").GetDateTimeOffset() >= running.GetProperty("created_at").GetDateTimeOffset());

        (await Client.DeleteAsync($"/api/v1/tasks/{taskId}")).EnsureSuccessStatusCode();
        var ended = await (await Client.GetAsync($"/api/v1/sessions/{session}")).Json();
        Assert.Empty(ended.GetProperty("active_tasks").EnumerateArray());
        Assert.Equal(1, ended.GetProperty("completed_tasks").GetInt64());
    }

    [Fact]
    public async Task A_streaming_session_tells_the_sequence_a_reconnecting_socket_resumes_after()
    {
        var session = "ws-" + Guid.NewGuid().ToString("N");
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "connect", session_id = session });
        Assert.Equal("connected", (await client.Receive())!.Type);
        await client.Send(new { type = "synthesize", text = "Hola de nuevo.", voice_id = "es-female-1", format = "pcm" });
        var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        var end = (await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId)))[^1];

        var body = await (await Client.GetAsync($"/api/v1/sessions/{session}")).Json();
        Assert.Equal(end.Seq, body.GetProperty("last_sequence").GetInt64());
        Assert.True(body.GetProperty("streaming").GetBoolean());
        Assert.Empty(body.GetProperty("active_tasks").EnumerateArray());
    }

    [Theory]
    [InlineData("never-opened-7f1c", HttpStatusCode.NotFound, "session_not_found")]
    [InlineData("bad%20id", HttpStatusCode.BadRequest, "invalid_session_id")]
    [InlineData("a%2Fb", HttpStatusCode.BadRequest, "invalid_session_id")]
    public async Task An_unknown_or_malformed_session_id_gets_a_clear_error(string sessionId, HttpStatusCode status, string code) =>
        await (await Client.GetAsync($"/api/v1/sessions/{sessionId}")).AssertProblem(status, code, "session_id");
}
