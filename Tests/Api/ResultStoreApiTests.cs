using System.Globalization;
using System.Net;
using System.Text.Json;

namespace MitTts.Tests.Api;

/// <summary>What happens to a finished task's audio: kept for <c>/audio</c> when asked, gone with 410 when not kept, evicted or expired.</summary>
public sealed class ResultStoreApiTests
{
    [Fact]
    public async Task Wait_true_answers_with_the_audio_and_keeps_none_unless_asked()
    {
        await using var gateway = await RunningGateway.Start();

        var waited = await gateway.Client.Synthesize(new { text = "Heard once, kept nowhere.", voice_id = "en-female-1" }, wait: true);
        var taskId = Assert.Single(waited.Headers.GetValues("X-Task-Id"));
        var audio = await gateway.Client.GetAsync($"/api/v1/audio/{taskId}.wav");
        var task = await (await gateway.Client.GetAsync($"/api/v1/tasks/{taskId}")).Json();
        var kept = await gateway.Client.Synthesize(new { text = "Heard and kept.", voice_id = "en-female-1", store = true }, wait: true);
        var keptAudio = await gateway.Client.GetAsync($"/api/v1/audio/{Assert.Single(kept.Headers.GetValues("X-Task-Id"))}.wav");

        Assert.Equal(HttpStatusCode.OK, waited.StatusCode);
        Assert.True((await waited.Content.ReadAsByteArrayAsync()).Length > 44);
        await audio.AssertProblem(HttpStatusCode.Gone, "audio_not_kept");
        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal("not_kept", task.GetProperty("audio_state").GetString());
        Assert.Equal(JsonValueKind.Null, task.GetProperty("audio_url").ValueKind);
        Assert.Equal(HttpStatusCode.OK, keptAudio.StatusCode);
        Assert.Equal(await kept.Content.ReadAsByteArrayAsync(), await keptAudio.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task An_evicted_result_answers_410_audio_expired_and_its_task_says_so()
    {
        // About 135 KB and 250 KB of WAV: the second fits in the budget, both do not, and there is no disk to spill to.
        await using var gateway = await RunningGateway.Start("--tts:result_store_max_bytes=320000", "--tts:result_store_disk_bytes=0", "--tts:cache_size=0");
        var first = await Completed(gateway, "The first answer is about to make room for the second one.");
        var second = await Completed(gateway, "The second answer is a little longer, so that both of them together do not fit in the result store's memory.");

        var evicted = await gateway.Client.GetAsync($"/api/v1/audio/{first}.wav");
        var evictedTask = await (await gateway.Client.GetAsync($"/api/v1/tasks/{first}")).Json();
        var kept = await gateway.Client.GetAsync($"/api/v1/audio/{second}.wav");
        var status = await (await gateway.Client.GetAsync("/api/v1/status")).Json();

        await evicted.AssertProblem(HttpStatusCode.Gone, "audio_expired");
        Assert.Equal("completed", evictedTask.GetProperty("status").GetString());
        Assert.Equal("expired", evictedTask.GetProperty("audio_state").GetString());
        Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
        var store = status.GetProperty("result_store");
        Assert.True(store.GetProperty("evictions").GetInt64() >= 1);
        Assert.True(store.GetProperty("memory_bytes").GetInt64() <= 320000);
        Assert.Equal(320000, store.GetProperty("memory_budget_bytes").GetInt64());
    }

    [Fact]
    public async Task A_result_past_its_ttl_answers_410_audio_expired_until_its_record_goes()
    {
        // The record outlives the audio by one TTL more: 2 s leaves the reads below 2 s to see the record on a busy machine (1 s did not).
        await using var gateway = await RunningGateway.Start("--tts:result_ttl_seconds=2");
        var taskId = await Completed(gateway, "Short lived.");
        var task = await (await gateway.Client.GetAsync($"/api/v1/tasks/{taskId}")).Json();
        var expiresAt = DateTimeOffset.Parse(task.GetProperty("expires_at").GetString()!, CultureInfo.InvariantCulture);

        // The TTL itself is the subject: wait it out on the server's clock (the real one).
        await Task.Delay(expiresAt - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(200));
        var audio = await gateway.Client.GetAsync($"/api/v1/audio/{taskId}.wav");
        var after = await (await gateway.Client.GetAsync($"/api/v1/tasks/{taskId}")).Json();

        await audio.AssertProblem(HttpStatusCode.Gone, "audio_expired");
        Assert.Equal("expired", after.GetProperty("audio_state").GetString());
    }

    /// <summary>Synthesizes <paramref name="text"/>, kept, and waits for it; returns the task id.</summary>
    private static async Task<string> Completed(RunningGateway gateway, string text)
    {
        var response = await gateway.Client.Synthesize(new { text, voice_id = "en-male-1", store = true }, wait: true);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return Assert.Single(response.Headers.GetValues("X-Task-Id"));
    }
}
