using System.Globalization;
using System.Net;
using System.Text.Json;
using MitTts.Tests.Support;

namespace MitTts.Tests.Api;

[Collection(GatewayCollection.Name)]
public sealed class SynthesisApiTests(GatewayFixture gateway)
{
    private HttpClient Client => gateway.Client;

    private async Task<JsonElement> WaitUntilFinished(string taskId)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        while (true)
        {
            var task = await (await Client.GetAsync($"/api/v1/tasks/{taskId}")).Json();
            var status = task.GetProperty("status").GetString();
            if (status is "completed" or "error" or "cancelled" || DateTimeOffset.UtcNow > deadline)
            {
                return task;
            }

            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task The_seed_flow_yields_a_WAV_that_ffprobe_reads_with_the_expected_duration()
    {
        var accepted = await (await Client.Synthesize(new
        {
            text = "Hola mundo. Esta es la primera frase que MitTts dice en voz alta.",
            voice_id = "es-female-1",
            format = "wav",
            priority = "normal",
            session_id = "user123",
        })).Json();
        var taskId = accepted.GetProperty("task_id").GetString()!;
        var audioUrl = accepted.GetProperty("audio_url").GetString();

        Assert.StartsWith("task_", taskId, StringComparison.Ordinal);
        Assert.Equal("queued", accepted.GetProperty("status").GetString());
        Assert.True(accepted.GetProperty("estimated_time").GetDouble() > 0);
        Assert.Equal($"/api/v1/audio/{taskId}.wav", audioUrl);

        var task = await WaitUntilFinished(taskId);
        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal(1.0, task.GetProperty("progress").GetDouble());
        Assert.Equal("user123", task.GetProperty("session_id").GetString());
        Assert.Equal(JsonValueKind.Null, task.GetProperty("error").ValueKind);
        Assert.True(task.GetProperty("started_at").GetDateTimeOffset() >= task.GetProperty("created_at").GetDateTimeOffset());
        var expectedDuration = task.GetProperty("audio_duration").GetDouble();

        var audio = await Client.GetAsync(audioUrl);
        Assert.Equal(HttpStatusCode.OK, audio.StatusCode);
        Assert.Equal("audio/wav", audio.Content.Headers.ContentType?.MediaType);
        var wav = await audio.Content.ReadAsByteArrayAsync();
        Assert.Equal("RIFF"u8.ToArray(), wav[..4]);
        Assert.Equal("WAVE"u8.ToArray(), wav[8..12]);
        var probe = await ExternalTool.Ffprobe(wav, "wav");
        Assert.Equal(("wav", "pcm_s16le", 22050, 1), (probe.FormatName, probe.CodecName, probe.SampleRate, probe.Channels));
        Assert.Equal(expectedDuration, probe.DurationSeconds, 0.01);
        Assert.InRange(probe.DurationSeconds, 2, 10);
        Assert.True(Pcm.FromWav(wav).Rms > 0.02);

        // The seed's own example URL (/audio/{task_id}.wav, at the root) serves the same file.
        var seedPath = await Client.GetAsync($"/audio/{taskId}.wav");
        Assert.Equal(HttpStatusCode.OK, seedPath.StatusCode);
        Assert.Equal(wav, await seedPath.Content.ReadAsByteArrayAsync());
        await (await Client.GetAsync("/audio/task_doesnotexist.wav")).AssertProblem(HttpStatusCode.NotFound, "task_not_found");
    }

    [Fact]
    public async Task Wait_true_answers_with_the_audio_itself()
    {
        var response = await Client.Synthesize(new { text = "Good morning.", voice_id = "en-male-1" }, wait: true);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("audio/wav", response.Content.Headers.ContentType?.MediaType);
        var taskId = Assert.Single(response.Headers.GetValues("X-Task-Id"));
        var duration = double.Parse(Assert.Single(response.Headers.GetValues("X-Audio-Duration")), CultureInfo.InvariantCulture);
        var probe = await ExternalTool.Ffprobe(await response.Content.ReadAsByteArrayAsync(), "wav");
        Assert.Equal(duration, probe.DurationSeconds, 0.01);
        Assert.Equal("completed", (await WaitUntilFinished(taskId)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Text_as_people_type_it_is_accepted_and_spoken()
    {
        const string text = "It's \"quoted\", isn't it? ¡Sí, señor! Ça va — très bien. <b>not markup</b> & more 😀\r\nNew line\tand tab.";

        var response = await Client.Synthesize(new { text, voice_id = "en-female-1" }, wait: true);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var pcm = Pcm.FromWav(await response.Content.ReadAsByteArrayAsync());
        Assert.True(pcm.DurationSeconds > 4, $"{pcm.DurationSeconds}s is too short for the whole text");
    }

    [Fact]
    public async Task Speed_over_the_API_changes_the_duration()
    {
        async Task<double> Duration(double speed)
        {
            var response = await Client.Synthesize(new { text = "The same sentence at two different speeds.", voice_id = "en-male-1", speed }, wait: true);
            return Pcm.FromWav(await response.Content.ReadAsByteArrayAsync()).DurationSeconds;
        }

        Assert.True(await Duration(2.0) < await Duration(1.0) * 0.7);
    }

    [Fact]
    public async Task Pcm_format_is_served_as_raw_little_endian_pcm_at_its_own_url()
    {
        var accepted = await (await Client.Synthesize(new { text = "Raw audio.", voice_id = "de-female-1", format = "pcm" })).Json();
        var taskId = accepted.GetProperty("task_id").GetString()!;
        await WaitUntilFinished(taskId);

        var audio = await Client.GetAsync(accepted.GetProperty("audio_url").GetString());
        var wrongExtension = await Client.GetAsync($"/api/v1/audio/{taskId}.wav");

        Assert.Equal($"/api/v1/audio/{taskId}.pcm", accepted.GetProperty("audio_url").GetString());
        Assert.Equal("audio/pcm", audio.Content.Headers.ContentType?.MediaType);
        Assert.True((await audio.Content.ReadAsByteArrayAsync()).Length > 22050);
        await wrongExtension.AssertProblem(HttpStatusCode.NotFound, "audio_not_found", "format");
    }

    [Fact]
    public async Task A_task_can_be_cancelled_while_queued_and_its_audio_is_never_served()
    {
        var blocker = await (await Client.Synthesize(new { text = string.Join(' ', Enumerable.Repeat("Keep the engine busy for a moment.", 120)), voice_id = "en-male-1" })).Json();
        var victim = await (await Client.Synthesize(new { text = "Never spoken.", voice_id = "en-male-1" })).Json();
        var victimId = victim.GetProperty("task_id").GetString()!;

        var notReady = await Client.GetAsync(victim.GetProperty("audio_url").GetString());
        var cancel = await (await Client.DeleteAsync($"/api/v1/tasks/{victimId}")).Json();
        var cancelAgain = await Client.DeleteAsync($"/api/v1/tasks/{victimId}");
        await WaitUntilFinished(blocker.GetProperty("task_id").GetString()!);
        var task = await WaitUntilFinished(victimId);
        var audio = await Client.GetAsync(victim.GetProperty("audio_url").GetString());

        Assert.True(victim.GetProperty("queue_position").GetInt32() >= 1);
        await notReady.AssertProblem(HttpStatusCode.Conflict, "audio_not_ready");
        Assert.Equal("cancelled", cancel.GetProperty("status").GetString());
        await cancelAgain.AssertProblem(HttpStatusCode.Conflict, "task_finished");
        Assert.Equal("cancelled", task.GetProperty("status").GetString());
        await audio.AssertProblem(HttpStatusCode.Conflict, "task_cancelled");
    }

    [Fact]
    public async Task Unknown_tasks_and_audio_are_404_and_malformed_ids_are_400()
    {
        await (await Client.GetAsync("/api/v1/tasks/task_doesnotexist")).AssertProblem(HttpStatusCode.NotFound, "task_not_found", "task_id");
        await (await Client.GetAsync("/api/v1/tasks/bad%21id")).AssertProblem(HttpStatusCode.BadRequest, "invalid_task_id", "task_id");
        await (await Client.DeleteAsync("/api/v1/tasks/task_doesnotexist")).AssertProblem(HttpStatusCode.NotFound, "task_not_found");
        await (await Client.GetAsync("/api/v1/audio/task_doesnotexist.wav")).AssertProblem(HttpStatusCode.NotFound, "task_not_found");
        await (await Client.GetAsync("/api/v1/audio/task_doesnotexist.aiff")).AssertProblem(HttpStatusCode.BadRequest, "unsupported_format", "format");
        await (await Client.GetAsync("/api/v1/audio/task_doesnotexist")).AssertProblem(HttpStatusCode.BadRequest, "unsupported_format", "format");
    }
}
