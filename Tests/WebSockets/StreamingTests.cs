using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MitTts.Tests.Api;
using MitTts.Speech.Audio;
using MitTts.Tests.Support;

namespace MitTts.Tests.WebSockets;

/// <summary>The seed's WebSocket flow and the ordered audio channel, through a real socket to the real gateway.</summary>
[Collection(GatewayCollection.Name)]
public sealed class StreamingTests(GatewayFixture gateway)
{
    private const string Sentence = "Hola mundo. Esta es una prueba de síntesis en tiempo real.";

    [Fact]
    public async Task Seed_flow_streams_a_task_between_processing_and_completed_statuses()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "connect", session_id = "seed-flow-" + Guid.NewGuid().ToString("N"), auth_token = "bearer_token" });
        var connected = await client.Receive();
        Assert.Equal("connected", connected!.Type);

        await client.Send(new { type = "synthesize", text = Sentence, voice_id = "es-female-1", format = "wav", priority = "high", stream = true, request_id = "r1" });
        var queued = await client.Receive();
        Assert.Equal("status", queued!.Type);
        Assert.Equal("queued", queued.Str("status"));
        Assert.Equal("r1", queued.Str("request_id"));
        var taskId = queued.Str("task_id")!;

        var messages = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));
        Assert.Equal("processing", messages[0].Str("status"));
        Assert.Equal(taskId, messages[0].Str("task_id"));
        var end = messages[^1];
        Assert.Equal("completed", end.Str("status"));
        Assert.Equal("r1", end.Str("request_id"));
        Assert.Equal(1.0, end.Json!["progress"]!.GetValue<double>());
        Assert.Null(end.Json!["error"]);
        Assert.True(end.Json.ContainsKey("error"), "the seed's status carries \"error\": null");

        // Every channel message is numbered one after the other: that is what resuming counts on.
        var sequences = messages.Select(m => m.Seq!.Value).ToList();
        Assert.Equal(Enumerable.Range((int)sequences[0], sequences.Count).Select(i => (long)i), sequences);

        var frames = messages.Where(m => m.IsAudio).ToList();
        Assert.NotEmpty(frames);
        var wav = frames.SelectMany(f => f.Audio!).ToArray();
        var probe = await ExternalTool.Ffprobe(wav, "wav");
        Assert.Equal("pcm_s16le", probe.CodecName);
        Assert.InRange(probe.DurationSeconds, 2.0, 8.0);
        Assert.InRange(end.Json!["duration_ms"]!.GetValue<int>(), (probe.DurationSeconds * 1000) - 50, (probe.DurationSeconds * 1000) + 50);

        // The stored task is the same audio, reachable over REST.
        var task = await gateway.Client.GetFromJsonAsync<JsonObject>($"/api/v1/tasks/{taskId}");
        Assert.Equal("completed", task!["status"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("wav")]
    [InlineData("flac")]
    public async Task A_streamed_task_stored_with_store_true_is_a_whole_file_that_states_its_length(string format)
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "synthesize", text = Sentence, voice_id = "es-female-1", format, store = true });
        var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        var messages = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));
        var streamed = messages.Where(m => m.IsAudio).SelectMany(m => m.Audio!).ToArray();

        var stored = await gateway.Client.GetByteArrayAsync($"/api/v1/audio/{taskId}.{format}");

        // The same audio as the socket heard, with the lengths the stream could not know when it began.
        var probe = await ExternalTool.Ffprobe(stored, format);
        Assert.Equal(messages[^1].Json!["duration_ms"]!.GetValue<int>() / 1000.0, probe.DurationSeconds, 0.002);
        Assert.Equal(streamed.Length, stored.Length);
        Assert.Equal(streamed[44..], stored[44..]);
    }

    [Fact]
    public async Task Synthesize_without_connect_opens_a_session_by_itself_as_in_the_seed_test()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "synthesize", text = "Test", voice_id = "es-female-1" });
        var connected = await client.Receive();
        Assert.Equal("connected", connected!.Type);
        Assert.StartsWith("ws_", connected.Str("session_id"), StringComparison.Ordinal);
        Assert.False(connected.Json!["frame_sequence"]!.GetValue<bool>());
        var queued = await client.Receive();
        var taskId = queued!.Str("task_id")!;
        var messages = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));
        Assert.Equal("completed", messages[^1].Str("status"));

        // The seed's frame, read as the seed writes it: type, length, then audio and nothing else. Joined, the frames are the WAV file.
        var frames = messages.Where(m => m.IsAudio).ToList();
        Assert.NotEmpty(frames);
        Assert.All(frames, f => Assert.Null(f.Seq));
        var wav = frames.SelectMany(f => f.Audio!).ToArray();
        Assert.Equal("RIFF"u8.ToArray(), wav[..4]);
        var decoded = await AudioDecoders.Ffmpeg(wav, "wav");
        Assert.InRange(decoded.DurationSeconds * 1000, messages[^1].Json!["duration_ms"]!.GetValue<int>() - 50, messages[^1].Json!["duration_ms"]!.GetValue<int>() + 50);
    }

    [Fact]
    public async Task A_first_turn_sent_right_behind_connect_is_spoken_in_the_session_connect_opened()
    {
        // As a voice agent opens a call: connect and the greeting back to back, without waiting for connected.
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "connect", frame_sequence = true });
        await client.Send(new { type = "synthesize", text = "Hello, how can I help you today?", voice_id = "en-female-1", format = "pcm", request_id = "greeting" });

        var connected = await client.Receive();
        Assert.Equal("connected", connected!.Type);
        var sessionId = connected.Str("session_id")!;
        Assert.StartsWith("ws_", sessionId, StringComparison.Ordinal);
        var queued = await client.Receive();
        Assert.Equal("queued", queued!.Str("status"));
        Assert.Equal("greeting", queued.Str("request_id"));
        var taskId = queued.Str("task_id")!;

        var messages = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));
        Assert.Equal("completed", messages[^1].Str("status"));
        var frames = messages.Where(m => m.IsAudio).ToList();
        Assert.NotEmpty(frames);
        Assert.All(frames, f => Assert.NotNull(f.Seq));
        var task = await gateway.Client.GetFromJsonAsync<JsonObject>($"/api/v1/tasks/{taskId}");
        Assert.Equal(sessionId, task!["session_id"]!.GetValue<string>());
        Assert.Equal(22050, task["sample_rate"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_session_that_asks_for_frame_sequences_gets_each_frames_number_between_header_and_audio()
    {
        await using var plain = await ProtocolClient.Connect(gateway.BaseAddress);
        await using var numbered = await ProtocolClient.Connect(gateway.BaseAddress);
        await plain.Send(new { type = "connect", frame_sequence = false });
        await numbered.Send(new { type = "connect", frame_sequence = true });
        Assert.False((await plain.Receive())!.Json!["frame_sequence"]!.GetValue<bool>());
        Assert.True((await numbered.Receive())!.Json!["frame_sequence"]!.GetValue<bool>());

        foreach (var client in new[] { plain, numbered })
        {
            await client.Send(new { type = "synthesize", text = Sentence, voice_id = "es-female-1", format = "pcm" });
            var taskId = (await client.Receive())!.Str("task_id")!;
            var messages = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));
            var frames = messages.Where(m => m.IsAudio).ToList();
            Assert.NotEmpty(frames);
            if (client == numbered)
            {
                // Numbered with the channel's other messages, one after the other.
                var sequences = messages.Select(m => m.Seq!.Value).ToList();
                Assert.Equal(Enumerable.Range((int)sequences[0], sequences.Count).Select(i => (long)i), sequences);
            }
            else
            {
                Assert.All(frames, f => Assert.Null(f.Seq));
            }

            // Every byte of the frames' audio is the task's PCM: its length gives the task's duration to the millisecond (8 bytes of
            // header per frame in the audio would be 4 samples a frame too many).
            var pcm = frames.SelectMany(f => f.Audio!).ToArray();
            Assert.Equal(messages[^1].Json!["duration_ms"]!.GetValue<int>(), (int)(pcm.Length / 2 * 1000L / 22050));
        }
    }

    [Theory]
    [InlineData("pcm")]
    [InlineData("mp3")]
    [InlineData("ogg")]
    [InlineData("mulaw")]
    public async Task Every_format_streams_chunks_that_decode_as_one_file(string format)
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "synthesize", text = Sentence + " Y una frase más para tener varios trozos.", voice_id = "es-male-1", format });
        var messages = await client.ReceiveUntil(m => m.Type == "status" && m.Str("status") is "completed" or "error");
        Assert.Equal("completed", messages[^1].Str("status"));
        var audio = messages.Where(m => m.IsAudio).SelectMany(m => m.Audio!).ToArray();
        var durationMs = messages[^1].Json!["duration_ms"]!.GetValue<int>();
        // Decoded by independent decoders: what counts is the audio they get out of the joined chunks.
        double decoded = format switch
        {
            "pcm" => audio.Length / 2.0 / 22050,
            "mp3" => AudioDecoders.Nlayer(audio).DurationSeconds,
            "ogg" => (await AudioDecoders.Ffmpeg(audio, "ogg")).DurationSeconds,
            _ => (await AudioDecoders.Ffmpeg(audio, "wav")).DurationSeconds,
        };
        Assert.InRange(decoded * 1000, durationMs - 80, durationMs + 80);
    }

    [Fact]
    public async Task Json_mode_sends_audio_as_base64_with_task_id_and_sequence()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "connect", binary = false });
        Assert.False((await client.Receive())!.Json!["binary"]!.GetValue<bool>());
        await client.Send(new { type = "synthesize", text = Sentence, voice_id = "es-female-1", format = "pcm", request_id = "json-1" });
        var taskId = (await client.Receive())!.Str("task_id")!;
        var messages = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));
        Assert.DoesNotContain(messages, m => m.IsAudio);
        var audio = messages.Where(m => m.Type == "audio").ToList();
        Assert.NotEmpty(audio);
        Assert.All(audio, m =>
        {
            Assert.Equal(taskId, m.Str("task_id"));
            Assert.Equal("json-1", m.Str("request_id"));
            Assert.True(m.Seq > 0);
        });
        var bytes = audio.SelectMany(m => Convert.FromBase64String(m.Str("data")!)).ToArray();
        Assert.InRange(bytes.Length / 2.0 / 22050 * 1000, messages[^1].Json!["duration_ms"]!.GetValue<int>() - 5, messages[^1].Json!["duration_ms"]!.GetValue<int>() + 5);
    }

    [Fact]
    public async Task Stream_false_sends_the_whole_audio_in_one_frame_before_completed()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "synthesize", text = Sentence + " Otra frase. Y otra más.", voice_id = "es-female-1", format = "wav", stream = false });
        var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        var messages = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));
        var frames = messages.Where(m => m.IsAudio).ToList();
        Assert.Single(frames);
        Assert.True(messages[^2].IsAudio);
        var probe = await ExternalTool.Ffprobe(frames[0].Audio!, "wav");
        Assert.InRange(probe.DurationSeconds, 3.0, 12.0);
    }

    [Fact]
    public async Task Stream_false_with_timestamps_sends_every_word_once_behind_the_whole_audio()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        const string text = "Primera frase corta. Segunda frase del texto. Y la tercera.";
        await client.Send(new { type = "synthesize", text, voice_id = "es-female-1", format = "pcm", stream = false, timestamps = true });
        var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        var messages = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));

        Assert.Equal("completed", messages[^1].Str("status"));
        Assert.True(messages[^3].IsAudio, "the whole audio comes first");
        Assert.Single(messages, m => m.IsAudio);
        var timestamps = Assert.Single(messages, m => m.Type == "timestamps");
        Assert.Same(messages[^2], timestamps);
        var words = timestamps.Json!["words"]!.AsArray().Select(w => w!["word"]!.GetValue<string>().Trim('.', ',').ToLowerInvariant()).ToList();
        Assert.Equal(text.Split(' ').Select(w => w.Trim('.').ToLowerInvariant()), words);
        var lastEnd = timestamps.Json!["words"]!.AsArray()[^1]!["end_ms"]!.GetValue<int>();
        Assert.InRange(lastEnd, 1, messages[^1].Json!["duration_ms"]!.GetValue<int>());
    }

    [Fact]
    public async Task One_socket_sends_each_task_whole_and_queued_tasks_in_priority_order()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "connect" });
        await client.Receive();

        // A long first task holds the channel while the others queue behind it.
        var longText = string.Join(" ", Enumerable.Repeat("Esta es una frase larga para ocupar el canal un buen rato.", 60));
        await client.Send(new { type = "synthesize", text = longText, voice_id = "es-female-1", format = "pcm", priority = "normal", request_id = "first" });
        await client.Send(new { type = "synthesize", text = "Normal.", voice_id = "es-female-1", format = "pcm", priority = "normal", request_id = "normal" });
        await client.Send(new { type = "synthesize", text = "Crítica.", voice_id = "es-female-1", format = "pcm", priority = "critical", request_id = "critical" });

        var messages = await client.ReceiveUntil(m => m.Type == "status" && m.Str("request_id") == "normal" && m.Str("status") == "completed");
        var starts = messages.Where(m => m.Str("status") == "processing").Select(m => m.Str("request_id")).ToList();
        Assert.Equal(["first", "critical", "normal"], starts);

        // Between a task's processing and its end, every frame is that task's: frames never interleave.
        string? current = null;
        foreach (var message in messages)
        {
            if (message.Str("status") == "processing")
            {
                Assert.Null(current);
                current = message.Str("task_id");
            }
            else if (message.Type == "status" && message.Str("status") == "completed")
            {
                Assert.Equal(current, message.Str("task_id"));
                current = null;
            }
            else if (message.IsAudio)
            {
                Assert.NotNull(current);
            }
        }
    }

    [Fact]
    public async Task A_streamed_tasks_record_is_created_before_it_starts_and_starts_before_it_completes()
    {
        // Its synthesis starts while its channel is still dispatching it: the record took its creation time after that (5 of 5 tasks
        // read started_at 0.1–0.8 ms before created_at).
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        for (var i = 0; i < 5; i++)
        {
            await client.Send(new { type = "synthesize", text = $"Prueba número {i} de marcas de tiempo.", voice_id = "es-female-1", format = "wav" });
            var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
            await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));

            var task = await gateway.Client.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/v1/tasks/{taskId}");
            var created = task.GetProperty("created_at").GetDateTimeOffset();
            var started = task.GetProperty("started_at").GetDateTimeOffset();
            var completed = task.GetProperty("completed_at").GetDateTimeOffset();
            Assert.True(created <= started && started <= completed, $"created {created:O}, started {started:O}, completed {completed:O}");
        }
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(2.0)]
    public async Task A_streamed_voice_speaks_at_the_pitch_factor_asked_for_and_its_own_length(double pitch)
    {
        // Past the ends of espeak-ng's pitch scale (×0.67..×1.66) the rest is shifted a sentence at a time as the stream goes.
        const string text = "Pitch check over the socket. A second sentence follows the first, and a third ends it.";
        async Task<Pcm> Stream(double factor)
        {
            await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
            await client.Send(new { type = "synthesize", text, voice_id = "en-male-1", format = "pcm", pitch = factor });
            var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
            var messages = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));
            Assert.Equal("completed", messages[^1].Str("status"));
            return new Pcm(Pcm.FromS16Le(messages.Where(m => m.IsAudio).SelectMany(m => m.Audio!).ToArray()), 22050, 1);
        }

        var normal = await Stream(1.0);
        var pitched = await Stream(pitch);
        var f0 = AudioMeasures.Pitch(normal.Samples, normal.SampleRate, minHz: 35).MedianHz;
        var shifted = AudioMeasures.Pitch(pitched.Samples, pitched.SampleRate, minHz: 35).MedianHz;
        var report = $"pitch 1: {f0:F0} Hz, {normal.DurationSeconds:F3} s; pitch {pitch}: {shifted:F0} Hz, {pitched.DurationSeconds:F3} s";

        Assert.True(Math.Abs((shifted / f0 / pitch) - 1) < 0.07, report);
        Assert.True(Math.Abs((pitched.DurationSeconds / normal.DurationSeconds) - 1) < 0.03, report);
    }

    [Fact]
    public async Task A_streamed_high_pitched_voice_keeps_below_the_peak_ceiling_at_the_level_REST_gives_it()
    {
        // espeak-ng at pitch 2.0 is about 3 dB louder than the voice's calibration sentence: with its gain, peaks clipped at full scale.
        const string text = "Mode clip check. The second sentence is here, and a third one follows it. Done now.";
        var request = new { text, voice_id = "en-male-1", format = "pcm", speed = 0.5, pitch = 2.0 };
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "synthesize", request.text, request.voice_id, request.format, request.speed, request.pitch });
        var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        var messages = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));
        var streamed = new Pcm(Pcm.FromS16Le(messages.Where(m => m.IsAudio).SelectMany(m => m.Audio!).ToArray()), 22050, 1);
        var response = await gateway.Client.PostAsJsonAsync("/api/v1/synthesize?wait=true", request);
        response.EnsureSuccessStatusCode();
        var whole = new Pcm(Pcm.FromS16Le(await response.Content.ReadAsByteArrayAsync()), 22050, 1);

        var ceiling = (int)(LoudnessNormalizer.PeakCeiling * short.MaxValue) + 1;
        Assert.Equal("completed", messages[^1].Str("status"));
        Assert.InRange(streamed.Samples.Max(s => Math.Abs((int)s)), 1, ceiling);
        Assert.InRange(whole.Samples.Max(s => Math.Abs((int)s)), 1, ceiling);
        Assert.InRange(20 * Math.Log10(streamed.Rms / whole.Rms), -1.5, 1.5);
    }
}
