using System.Net;
using System.Net.Http.Json;

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
}
