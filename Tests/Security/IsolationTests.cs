using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Security;

/// <summary>What one user makes is that user's: another gets 404 for its tasks and audio, cannot cancel them, and cannot join, take
/// over or interrupt its sessions, while the owner goes on undisturbed; the admin reads everything.</summary>
[Collection(SecureGatewayCollection.Name)]
public sealed class IsolationTests(SecureGatewayFixture gateway)
{
    [Fact]
    public async Task Another_users_task_and_audio_are_not_found_and_cannot_be_cancelled()
    {
        using var alice = await gateway.LoggedIn("alice-key");
        using var bob = await gateway.LoggedIn("bob-key");
        using var root = await gateway.LoggedIn("root-key");

        var submitted = await (await alice.PostAsJsonAsync("/api/v1/synthesize", new { text = "Solo para Alicia.", format = "wav" })).Content.ReadFromJsonAsync<JsonElement>();
        var taskId = submitted.GetProperty("task_id").GetString()!;
        var audioUrl = submitted.GetProperty("audio_url").GetString()!;
        await WaitCompleted(alice, taskId);

        foreach (var path in new[] { $"/api/v1/tasks/{taskId}", audioUrl })
        {
            var response = await bob.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"bob GET {path}: {response.StatusCode}");
            Assert.Equal("task_not_found", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        }

        // Not found, the same answer as for a task that never existed: no existence leak.
        var cancel = await bob.DeleteAsync($"/api/v1/tasks/{taskId}");
        var never = await bob.DeleteAsync($"/api/v1/tasks/task_{Guid.NewGuid():N}");
        Assert.Equal(HttpStatusCode.NotFound, cancel.StatusCode);
        Assert.Equal(never.StatusCode, cancel.StatusCode);
        Assert.Equal(
            (await never.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString(),
            (await cancel.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());

        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync(audioUrl)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await root.GetAsync($"/api/v1/tasks/{taskId}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await root.GetAsync(audioUrl)).StatusCode);
    }

    [Fact]
    public async Task Another_user_cannot_cancel_a_running_task()
    {
        using var alice = await gateway.LoggedIn("alice-key");
        using var bob = await gateway.LoggedIn("bob-key");
        var text = string.Join(' ', Enumerable.Repeat("Esta frase larga sigue y sigue para que la tarea dure un buen rato.", 20));
        var taskId = (await (await alice.PostAsJsonAsync("/api/v1/synthesize", new { text, format = "pcm" })).Content.ReadFromJsonAsync<JsonElement>())
            .GetProperty("task_id").GetString()!;

        Assert.Equal(HttpStatusCode.NotFound, (await bob.DeleteAsync($"/api/v1/tasks/{taskId}")).StatusCode);
        Assert.Equal("completed", await WaitCompleted(alice, taskId));
    }

    [Fact]
    public async Task A_session_belongs_to_its_first_user()
    {
        using var alice = await gateway.LoggedIn("alice-key");
        using var bob = await gateway.LoggedIn("bob-key");
        var session = "sess-" + Guid.NewGuid().ToString("N");
        Assert.Equal(HttpStatusCode.OK, (await alice.PostAsJsonAsync("/api/v1/synthesize", new { text = "hola", session_id = session })).StatusCode);

        var taken = await bob.PostAsJsonAsync("/api/v1/synthesize", new { text = "hola", session_id = session });
        Assert.Equal(HttpStatusCode.Forbidden, taken.StatusCode);
        Assert.Equal("session_forbidden", (await taken.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());

        // Read back: the owner and the admin see it; to another user it is not found, as one that never existed.
        using var root = await gateway.LoggedIn("root-key");
        var owned = await alice.GetFromJsonAsync<JsonElement>($"/api/v1/sessions/{session}");
        Assert.Equal(session, owned.GetProperty("session_id").GetString());
        Assert.Equal(owned.GetProperty("user_id").GetString(), (await root.GetFromJsonAsync<JsonElement>($"/api/v1/sessions/{session}")).GetProperty("user_id").GetString());
        var hidden = await bob.GetAsync($"/api/v1/sessions/{session}");
        var never = await bob.GetAsync($"/api/v1/sessions/sess-{Guid.NewGuid():N}");
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        Assert.Equal(never.StatusCode, hidden.StatusCode);
        Assert.Equal(
            (await never.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString(),
            (await hidden.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_session_the_server_named_at_connect_belongs_to_the_user_who_connected()
    {
        var aliceToken = (await gateway.Login("alice-key")).GetProperty("access_token").GetString()!;
        var bobToken = (await gateway.Login("bob-key")).GetProperty("access_token").GetString()!;

        // The socket does not wait for a session it named itself to be recorded: the owner must be there all the same.
        await using var alice = await ProtocolClient.Connect(gateway.BaseAddress, bearer: aliceToken);
        await alice.Send(new { type = "connect" });
        var connected = (await alice.Receive())!;
        Assert.Equal("connected", connected.Type);
        var session = connected.Str("session_id")!;

        await using var bob = await ProtocolClient.Connect(gateway.BaseAddress, bearer: bobToken);
        await bob.Send(new { type = "connect", session_id = session, last_sequence = 0 });
        Assert.Equal("session_forbidden", (await bob.ReceiveUntil(m => m.Type is "error" or "connected"))[^1].Str("code"));
        using var bobRest = await gateway.LoggedIn("bob-key");
        Assert.Equal(HttpStatusCode.Forbidden, (await bobRest.PostAsJsonAsync("/api/v1/synthesize", new { text = "hola", session_id = session })).StatusCode);

        using var aliceRest = await gateway.LoggedIn("alice-key");
        Assert.Equal(HttpStatusCode.OK, (await aliceRest.PostAsJsonAsync("/api/v1/synthesize", new { text = "hola", session_id = session })).StatusCode);
    }

    [Fact]
    public async Task Another_user_cannot_resume_take_over_or_interrupt_a_streaming_session()
    {
        var aliceToken = (await gateway.Login("alice-key")).GetProperty("access_token").GetString()!;
        var bobToken = (await gateway.Login("bob-key")).GetProperty("access_token").GetString()!;
        var session = "live-" + Guid.NewGuid().ToString("N");

        await using var alice = await ProtocolClient.Connect(gateway.BaseAddress, bearer: aliceToken);
        await alice.Send(new { type = "connect", session_id = session });
        Assert.Equal("connected", (await alice.Receive())!.Type);
        var text = string.Join(' ', Enumerable.Repeat("Esta es una respuesta larga que el agente dice sin prisa.", 80));
        await alice.Send(new { type = "synthesize", text, format = "pcm", request_id = "a1" });
        var first = await alice.ReceiveUntil(m => m.IsAudio);
        var taskId = first.First(m => m.Type == "status").Str("task_id")!;

        // Bob tries to join (take over, or resume from 0) alice's session, then to interrupt it.
        await using var bob = await ProtocolClient.Connect(gateway.BaseAddress, bearer: bobToken);
        await bob.Send(new { type = "connect", session_id = session, last_sequence = 0 });
        var refused = await bob.ReceiveUntil(m => m.Type is "error" or "connected");
        Assert.Equal("session_forbidden", refused[^1].Str("code"));
        await bob.Send(new { type = "interrupt", reason = "hijack" });
        var interrupted = await bob.ReceiveUntil(m => m.Type == "interrupted");
        Assert.Empty(interrupted[^1].Json!["task_ids"]!.AsArray());

        // From a session of his own, bob names alice's task: his session's interrupt reaches his session's tasks only.
        await using var bobsOwn = await ProtocolClient.Connect(gateway.BaseAddress, bearer: bobToken);
        await bobsOwn.Send(new { type = "connect" });
        Assert.Equal("connected", (await bobsOwn.Receive())!.Type);
        await bobsOwn.Send(new { type = "interrupt", task_id = taskId, reason = "hijack" });
        await bobsOwn.ReceiveUntil(m => m.Type == "interrupted");

        // Alice's stream goes on to its end, every sequence once.
        var rest = await alice.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));
        Assert.Equal("completed", rest[^1].Str("status"));
        var sequences = first.Concat(rest).Where(m => m.Seq is > 0).Select(m => m.Seq!.Value).ToList();
        Assert.Equal(sequences.Distinct().Count(), sequences.Count);
    }

    [Fact]
    public async Task One_users_cache_hit_never_tells_another_that_a_text_was_asked_for()
    {
        using var alice = await gateway.LoggedIn("alice-key");
        using var bob = await gateway.LoggedIn("bob-key");
        var request = new { text = "Mi diagnóstico es reservado " + Guid.NewGuid().ToString("N")[..8] + ".", format = "wav" };

        async Task<bool> CacheHit(HttpClient client)
        {
            var taskId = (await (await client.PostAsJsonAsync("/api/v1/synthesize", request)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("task_id").GetString()!;
            Assert.Equal("completed", await WaitCompleted(client, taskId));
            return (await client.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{taskId}")).GetProperty("cache_hit").GetBoolean();
        }

        // Alice's text, asked again by Bob: synthesized for him (a hit, and its speed, would tell him she asked); Alice's own repeat hits.
        Assert.False(await CacheHit(alice));
        Assert.False(await CacheHit(bob));
        Assert.True(await CacheHit(alice));
        Assert.True(await CacheHit(bob));
    }

    private static async Task<string> WaitCompleted(HttpClient client, string taskId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var task = await client.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{taskId}");
            var status = task.GetProperty("status").GetString()!;
            if (status is "completed" or "error" or "cancelled")
            {
                return status;
            }

            Assert.True(DateTime.UtcNow < deadline, $"task {taskId} still {status}");
            await Task.Delay(50);
        }
    }
}
