using System.Net;
using System.Net.Http.Json;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Api;

public sealed class AdmissionApiTests
{
    [Fact]
    public async Task A_full_queue_answers_429_busy_with_retry_after_and_accepted_work_completes()
    {
        await using var gateway = await RunningGateway.Start("--scheduling:max_queue_per_level=1", "--tts:cache_size=0");
        var longText = string.Join(' ', Enumerable.Repeat("This long text keeps the only engine slot busy for a while.", 80));

        var running = await (await gateway.Client.Synthesize(new { text = longText, voice_id = "en-male-1" })).Json();
        var queued = await (await gateway.Client.Synthesize(new { text = "Queued behind it.", voice_id = "en-male-1" })).Json();
        var refused = await gateway.Client.Synthesize(new { text = "One too many.", voice_id = "en-male-1" });
        var otherLevel = await gateway.Client.Synthesize(new { text = "High priority still fits.", voice_id = "en-male-1", priority = "high" });

        var problem = await refused.AssertProblem(HttpStatusCode.TooManyRequests, "busy");
        Assert.True(problem.GetProperty("retry_after").GetInt32() >= 1);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, otherLevel.StatusCode);
        foreach (var accepted in new[] { running, queued, await otherLevel.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>() })
        {
            var id = accepted.GetProperty("task_id").GetString();
            var audio = await gateway.Client.GetAsync($"/api/v1/audio/{id}.wav");
            var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
            while (audio.StatusCode == HttpStatusCode.Conflict && DateTimeOffset.UtcNow < deadline)
            {
                await Task.Delay(50);
                audio = await gateway.Client.GetAsync($"/api/v1/audio/{id}.wav");
            }

            Assert.Equal(HttpStatusCode.OK, audio.StatusCode);
        }
    }

    [Fact]
    public async Task A_socket_task_the_full_queue_refuses_ends_busy_and_reads_as_not_found_at_once_while_the_accepted_ones_are_found()
    {
        // Each socket task is announced to its task grain before its queued status, and a read of an announced task waits for its
        // channel; a refused one is withdrawn, so its read answers 404 at once rather than after that wait (10 s, past this client's
        // timeout, which leaves room for a loaded machine).
        await using var gateway = await RunningGateway.Start("--scheduling:max_queue_per_level=1", "--tts:cache_size=0");
        using var rest = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(8) };
        var longText = string.Join(' ', Enumerable.Repeat("This long text keeps the only engine slot busy for a while.", 80));
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "connect" });
        await client.Receive();

        var ids = new List<string>();
        foreach (var text in new[] { longText, longText, "One too many." })
        {
            await client.Send(new { type = "synthesize", text, voice_id = "en-male-1", format = "pcm", priority = "normal" });
            var heard = await client.ReceiveUntil(m => m.Str("status") is "queued");
            ids.Add(heard[^1].Str("task_id")!);
        }

        var refused = (await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, ids[2])))[^1];
        Assert.Equal("error", refused.Str("status"));
        Assert.Equal("busy", refused.Json!["error"]!["code"]!.GetValue<string>());
        using (var read = await rest.GetAsync($"/api/v1/tasks/{ids[2]}"))
        {
            await read.AssertProblem(HttpStatusCode.NotFound, "task_not_found");
        }

        foreach (var id in ids.Take(2))
        {
            var task = await rest.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>($"/api/v1/tasks/{id}");
            Assert.Contains(task!["status"]!.GetValue<string>(), (string[])["queued", "processing"]);
        }
    }
}
