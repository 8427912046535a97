using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MitTts.Tests.Support;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Api;

/// <summary>Neural jobs on the synthesizers: batched across requests without changing anyone's audio, cancelled alone or mid-inference,
/// streamed over the WebSocket.</summary>
[Collection(NeuralGatewayCollection.Name)]
public sealed class NeuralSchedulingTests(NeuralGatewayFixture gateway)
{
    private static readonly string[] s_texts =
    [
        "Hello there. How are you today?",
        "The weather is fine. Let us go outside.",
        "Numbers are hard. One, two, three.",
        "A short one.",
        "Good morning, everybody. Welcome to the show.",
        "This is the sixth request. It has two sentences.",
    ];

    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Concurrent_requests_of_one_piper_voice_share_inferences_and_each_hears_its_own_audio()
    {
        var voice = await gateway.VoiceId(NeuralGatewayFixture.SlowPiperFile);
        var alone = new List<byte[]>();
        foreach (var text in s_texts)
        {
            alone.Add(await Audio(text, voice));
        }

        var batchedBefore = BatchedJobs(await gateway.Devices());
        var together = await Task.WhenAll(s_texts.Select(text => Audio(text, voice)));

        for (var i = 0; i < s_texts.Length; i++)
        {
            Assert.True(alone[i].AsSpan().SequenceEqual(together[i]), $"request {i} ('{s_texts[i]}') sounds different when batched");
        }

        var devices = await gateway.Devices();
        Assert.True(BatchedJobs(devices) > batchedBefore, "no inference took more than one job: " + string.Join(", ", devices));
        Assert.Contains(devices, d => d.GetProperty("largest_batch").GetInt32() is >= 2 and <= 4);
    }

    [Fact]
    public async Task Cancelling_one_job_of_a_batch_leaves_the_others_whole()
    {
        var voice = await gateway.VoiceId(NeuralGatewayFixture.SlowPiperFile);
        var keep = string.Join(' ', s_texts);
        var alone = await Audio(keep, voice);
        var longText = string.Join(' ', Enumerable.Repeat("This sentence is spoken again and again.", 30));

        // Two tasks of one voice run together; one of them is cancelled while they run.
        var batchedBefore = BatchedJobs(await gateway.Devices());
        var victim = await Submit(longText, voice);
        var survivor = gateway.Client.Synthesize(new { text = keep, voice_id = voice, format = "pcm" }, wait: true);
        var deadline = DateTime.UtcNow + s_deadline;
        while (BatchedJobs(await gateway.Devices()) == batchedBefore)
        {
            Assert.True(DateTime.UtcNow < deadline, "the two jobs never shared an inference");
            await Task.Delay(20);
        }

        var cancelled = await gateway.Client.DeleteAsync($"/api/v1/tasks/{victim}");
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);

        var kept = await (await survivor).Content.ReadAsByteArrayAsync();
        Assert.True(alone.AsSpan().SequenceEqual(kept), "the job left in the batch sounds different");
        await WaitForStatus(victim, "cancelled");
    }

    [Fact]
    public async Task A_critical_request_goes_between_the_sentences_of_a_batch_and_the_batch_resumes_intact()
    {
        var voice = await gateway.VoiceId(NeuralGatewayFixture.SlowPiperFile);
        var text = string.Join(' ', s_texts);
        var alone = await Audio(text, voice);
        var before = await gateway.Devices();

        var first = await Submit(text, voice);
        // As many sentences as the first (in another order), so both are still in the batch when the critical request arrives: a
        // shorter second job could end first on a busy machine, and then only one job would go back to the queue.
        var second = await Submit(string.Join(' ', s_texts.Reverse()), voice);
        var deadline = DateTime.UtcNow + s_deadline;
        while (BatchedJobs(await gateway.Devices()) == BatchedJobs(before))
        {
            Assert.True(DateTime.UtcNow < deadline, "the two jobs never shared an inference");
            await Task.Delay(20);
        }

        var critical = await gateway.Client.Synthesize(new { text = "Urgent.", voice_id = "en-male-1", format = "pcm", priority = "critical" }, wait: true);
        Assert.Equal(HttpStatusCode.OK, critical.StatusCode);
        Assert.Equal("processing", (await Snapshot(first)).GetProperty("status").GetString());

        await WaitForStatus(first, "completed");
        await WaitForStatus(second, "completed");
        var resumed = await (await gateway.Client.GetAsync($"/api/v1/audio/{first}.pcm")).Content.ReadAsByteArrayAsync();
        Assert.True(alone.AsSpan().SequenceEqual(resumed), "the preempted job sounds different from the same job alone");
        Assert.True(
            (await gateway.Devices()).Sum(d => d.GetProperty("preemptions").GetInt64()) >= before.Sum(d => d.GetProperty("preemptions").GetInt64()) + 2,
            "both jobs of the batch went back to the queue for the critical one");
    }

    [Fact]
    public async Task Deleting_a_running_neural_task_stops_its_inference()
    {
        var voice = await gateway.VoiceId(NeuralGatewayFixture.VerySlowPiperFile);
        var taskId = await Submit(string.Join(' ', Enumerable.Repeat("Slow words take their time.", 8)), voice);
        await WaitForStatus(taskId, "processing");
        var before = Cancellations(await gateway.Devices());

        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.DeleteAsync($"/api/v1/tasks/{taskId}")).StatusCode);

        // The synthesizer counts the cancel once the engine stopped.
        var deadline = DateTime.UtcNow + s_deadline;
        while (Cancellations(await gateway.Devices()) == before)
        {
            Assert.True(DateTime.UtcNow < deadline, "the synthesizer never counted the cancel");
            await Task.Delay(20);
        }

        Assert.Equal("cancelled", (await Snapshot(taskId)).GetProperty("status").GetString());
        // One inference of this model is 800 products of 1024×1024, four times the chain that took about 5 s on one core of this
        // machine: stopping well inside it is ONNX Runtime's Terminate. The bound leaves room for a loaded test host (a stop took 3.6 s there), not for a whole run.
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(8), $"the engine took {stopwatch.Elapsed} to stop");
    }

    [Fact]
    public async Task A_neural_voice_streams_over_the_websocket_and_an_interrupt_stops_it()
    {
        var voice = await gateway.VoiceId(NeuralGatewayFixture.PiperFile);
        const string text = "Hello, world. This is a neural voice, streamed.";
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);

        await client.Send(new { type = "synthesize", text, voice_id = voice, format = "pcm" });
        var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        var messages = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));

        Assert.Equal("completed", messages[^1].Str("status"));
        var samples = messages.Where(m => m.IsAudio).Sum(m => m.Audio!.Length) / 2;
        Assert.Equal((await gateway.PiperIds(text)).Length * Speech.Onnx.NeuralTestModels.BlockSamples, samples);

        await client.Send(new { type = "synthesize", text = "One more. And then an mp3 file.", voice_id = voice, format = "mp3" });
        var mp3Task = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        var mp3 = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, mp3Task));
        var probe = await ExternalTool.Ffprobe([.. mp3.Where(m => m.IsAudio).SelectMany(m => m.Audio!)], "mp3");
        Assert.Equal("mp3", probe.CodecName);

        // Barge-in on a slow neural task: acknowledged, and the task ends cancelled.
        var slow = await gateway.VoiceId(NeuralGatewayFixture.VerySlowPiperFile);
        await client.Send(new { type = "synthesize", text = string.Join(' ', Enumerable.Repeat("Slow words take their time.", 8)), voice_id = slow, format = "pcm" });
        var slowTask = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        await client.ReceiveUntil(m => m.Str("status") == "processing" && m.Str("task_id") == slowTask);
        await client.Send(new { type = "interrupt" });
        var ack = (await client.ReceiveUntil(m => m.Type == "interrupted"))[^1];
        Assert.Contains(slowTask, ack.Json!["task_ids"]!.AsArray().Select(n => n!.GetValue<string>()));
        await WaitForStatus(slowTask, "cancelled");
    }

    [Fact]
    public async Task Word_timestamps_of_a_neural_voice_are_estimated_from_its_phoneme_positions_and_say_so()
    {
        var voice = await gateway.VoiceId(NeuralGatewayFixture.PiperFile);
        const string text = "Hello world.";
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);

        await client.Send(new { type = "synthesize", text, voice_id = voice, format = "pcm", timestamps = true });
        var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        var messages = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));

        var words = messages.Where(m => m.Type == "timestamps").SelectMany(m => m.Json!["words"]!.AsArray()).ToList();
        Assert.Equal(["Hello", "world"], words.Select(w => w!["word"]!.GetValue<string>()));
        Assert.All(words, w => Assert.True(w!["estimated"]!.GetValue<bool>()));

        // The test model gives every id 100 samples at 16 kHz: a word starts at its first phoneme's id (after ^ and _, each phoneme
        // and its pad), exactly.
        var phonemes = Assert.Single(await gateway.Phonemizer.PhonemizeAsync(text, "en-us"));
        var second = phonemes.IndexOf(' ', StringComparison.Ordinal) + 1;
        double Ms(int phoneme) => (2 + (2 * phoneme)) * Speech.Onnx.NeuralTestModels.BlockSamples * 1000.0 / Speech.Onnx.NeuralTestModels.PiperSampleRate;
        Assert.Equal((int)Ms(0), words[0]!["start_ms"]!.GetValue<int>());
        Assert.Equal((int)Ms(second), words[1]!["start_ms"]!.GetValue<int>());
        Assert.Equal(words[1]!["start_ms"]!.GetValue<int>(), words[0]!["end_ms"]!.GetValue<int>());
        Assert.Equal(messages[^1].Json!["duration_ms"]!.GetValue<int>(), words[1]!["end_ms"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_kokoro_voice_streams_with_estimated_word_timestamps()
    {
        var voice = await gateway.VoiceId(NeuralVoiceDiscoveryNames.Kokoro, "lewis");
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);

        await client.Send(new { type = "synthesize", text = "Good morning, London.", voice_id = voice, format = "pcm", timestamps = true });
        var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        var messages = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));

        Assert.True(messages[^1].Str("status") == "completed", messages[^1].ToString());
        var samples = messages.Where(m => m.IsAudio).Sum(m => m.Audio!.Length) / 2;
        Assert.Equal(2, samples % Speech.Onnx.NeuralTestModels.BlockSamples); // one run: token blocks, then the two style samples
        var words = messages.Where(m => m.Type == "timestamps").SelectMany(m => m.Json!["words"]!.AsArray()).ToList();
        Assert.Equal(["Good", "morning", "London"], words.Select(w => w!["word"]!.GetValue<string>()));
        Assert.All(words, w => Assert.True(w!["estimated"]!.GetValue<bool>()));
        var starts = words.Select(w => w!["start_ms"]!.GetValue<int>()).ToList();
        Assert.Equal(starts.Order(), starts);
    }

    private async Task<byte[]> Audio(string text, string voice)
    {
        var response = await gateway.Client.Synthesize(new { text, voice_id = voice, format = "pcm" }, wait: true);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }

    private async Task<string> Submit(string text, string voice)
    {
        var body = await (await gateway.Client.Synthesize(new { text, voice_id = voice, format = "pcm" })).Json();
        return body.GetProperty("task_id").GetString()!;
    }

    private async Task<JsonElement> Snapshot(string taskId) => await (await gateway.Client.GetAsync($"/api/v1/tasks/{taskId}")).Json();

    private async Task WaitForStatus(string taskId, string status)
    {
        var deadline = DateTime.UtcNow + s_deadline;
        while (true)
        {
            var now = (await Snapshot(taskId)).GetProperty("status").GetString();
            if (now == status)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"task {taskId} is {now}, never {status}");
            await Task.Delay(20);
        }
    }

    private static long BatchedJobs(List<JsonElement> devices) => devices.Sum(d => d.GetProperty("batched_jobs").GetInt64());

    private static long Cancellations(List<JsonElement> devices) => devices.Sum(d => d.GetProperty("cancellations").GetInt64());
}
