using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using MitTts.Grains.Interfaces;
using MitTts.Tests.Api;
using MitTts.Tests.Support;

namespace MitTts.Tests.OpenAi;

/// <summary>A gateway for the OpenAI-compatible API, with one OpenAI voice mapped elsewhere by configuration.</summary>
public sealed class OpenAiGatewayFixture : IAsyncLifetime
{
    private RunningGateway? _gateway;

    public HttpClient Client => _gateway!.Client;

    public Uri BaseAddress => _gateway!.BaseAddress;

    public IGrainFactory Grains => _gateway!.Services.GetRequiredService<IGrainFactory>();

    public async Task InitializeAsync() => _gateway = await RunningGateway.Start("--openai:voices:shimmer=es-female-1");

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }
    }
}

/// <summary><c>/v1/audio/speech</c> through the official <c>openai</c> npm package: every format, streamed as audio and as events,
/// decoded by ffmpeg to the duration of the same text from <c>/api/v1/synthesize</c>; errors in OpenAI's shape.</summary>
public sealed class OpenAiSpeechTests(OpenAiGatewayFixture gateway) : IClassFixture<OpenAiGatewayFixture>
{
    private const string Text = "The quick brown fox jumps over the lazy dog. It was a bright cold day in April, and the clocks were striking thirteen.";

    // response_format: Content-Type, extension for ffmpeg, codec, decoded rate
    private static readonly Dictionary<string, (string ContentType, string Extension, string Codec, int Rate)> s_formats = new()
    {
        ["mp3"] = ("audio/mpeg", "mp3", "mp3", 24000),
        ["opus"] = ("audio/ogg", "ogg", "opus", 48000),
        ["wav"] = ("audio/wav", "wav", "pcm_s16le", 24000),
        ["pcm"] = ("audio/pcm", "pcm", "", 24000),
        ["flac"] = ("audio/flac", "flac", "flac", 24000),
        ["aac"] = ("audio/aac", "aac", "aac", 24000),
    };

    private static readonly string[] s_streams = ["audio", "sse"];

    [Fact]
    public async Task Every_response_format_streamed_as_audio_and_as_events_decodes_to_the_duration_of_the_same_text()
    {
        var reference = await ReferenceSeconds(Text, "en-female-1");
        var requests = new List<object>();
        foreach (var format in s_formats.Keys)
        {
            foreach (var stream in s_streams)
            {
                requests.Add(new { name = $"{format}-{stream}", @params = new { model = "gpt-4o-mini-tts", input = Text, voice = "alloy", response_format = format, stream_format = stream } });
            }
        }

        using var run = await OpenAiNodeClient.Run(gateway.BaseAddress, null, [.. requests]);

        foreach (var (format, (contentType, extension, codec, rate)) in s_formats)
        {
            foreach (var stream in s_streams)
            {
                var name = $"{format}-{stream}";
                var result = run[name];
                Assert.True(result.GetProperty("status").ValueKind == JsonValueKind.Number && result.GetProperty("status").GetInt32() == 200, $"{name}: {result}");
                Assert.Equal(stream == "sse" ? "text/event-stream" : contentType, result.GetProperty("contentType").GetString());
                if (stream == "sse")
                {
                    var events = result.GetProperty("events").EnumerateArray().Select(e => e.GetString()).ToList();
                    Assert.Equal("speech.audio.done", events[^1]);
                    Assert.All(events[..^1], e => Assert.Equal("speech.audio.delta", e));
                    Assert.Equal(Text.Length, result.GetProperty("usage").GetProperty("input_tokens").GetInt32());
                }

                var audio = run.Audio(name);
                var decoded = format == "pcm" ? new Pcm(Pcm.FromS16Le(audio), 24000, 1) : await AudioDecoders.Ffmpeg(audio, extension);
                if (format != "pcm")
                {
                    var probe = await ExternalTool.Ffprobe(audio, extension);
                    Assert.Equal((codec, rate, 1), (probe.CodecName, probe.SampleRate, probe.Channels));
                }

                // ADTS has no gapless tag: AAC decodes with the encoder's priming in front and its last frame padded.
                var expected = format == "aac" ? MitTts.Tests.Speech.Audio.AacEncoderTests.DecodedSeconds(reference, 24000) : reference;
                Assert.Equal((rate, 1), (decoded.SampleRate, decoded.Channels));
                Assert.True(Math.Abs(decoded.DurationSeconds - expected) <= (expected * 0.02) + 0.06,
                    string.Create(CultureInfo.InvariantCulture, $"{name}: decoded {decoded.DurationSeconds:0.000} s, the same text from /api/v1/synthesize {expected:0.000} s"));
                Assert.True(decoded.Rms > 0.02, $"{name} decodes to near silence (RMS {decoded.Rms})");
            }
        }
    }

    [Fact]
    public async Task Refusals_reach_the_openai_client_as_its_error_classes_with_OpenAIs_error_body()
    {
        using var run = await OpenAiNodeClient.Run(gateway.BaseAddress, null,
            new { name = "voice", @params = new { model = "tts-1", input = "Hello.", voice = "no-such-voice" } },
            new { name = "speed", @params = new { model = "tts-1", input = "Hello.", voice = "alloy", speed = 4.0 } },
            new { name = "format", @params = new { model = "tts-1", input = "Hello.", voice = "alloy", response_format = "aiff" } },
            new { name = "model", @params = new { model = "whisper-1", input = "Hello.", voice = "alloy" } },
            new { name = "input", @params = new { model = "tts-1", input = "   ", voice = "alloy" } });

        AssertError(run["voice"], 400, "BadRequestError", "voice", "invalid_voice_id");
        AssertError(run["speed"], 400, "BadRequestError", "speed", "speed_out_of_range");
        AssertError(run["format"], 400, "BadRequestError", "response_format", "invalid_value");
        AssertError(run["model"], 404, "NotFoundError", "model", "model_not_found");
        AssertError(run["input"], 400, "BadRequestError", "input", "text_empty");
        Assert.Contains("alloy", run["voice"].GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    // About 60 sentences, spoken slowly: two minutes of audio, which takes the engine about a second to make.
    private static readonly string s_longText = string.Join(' ', Enumerable.Range(1, 60).Select(i => $"This is sentence number {i} of a long answer that is read aloud as it is made."));

    [Theory]
    [InlineData("audio")]
    [InlineData("sse")]
    public async Task A_long_input_streams_its_first_audio_while_the_task_is_still_being_synthesized(string streamFormat)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/audio/speech")
        {
            Content = JsonContent(new { model = "tts-1", input = s_longText, voice = "alloy", response_format = "pcm", speed = 0.5, stream_format = streamFormat }),
        };

        using var response = await gateway.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var received = new MemoryStream();
        var buffer = new byte[4096];

        // The first audio: some bytes, or for events the whole of the first delta event.
        while (streamFormat == "audio" ? received.Length == 0 : !SseEvents(received.ToArray()).Any(e => e.Type == "speech.audio.delta"))
        {
            var read = await body.ReadAsync(buffer);
            Assert.True(read > 0, "the response ended before its first audio");
            received.Write(buffer, 0, read);
        }

        var taskId = Assert.Single(response.Headers.GetValues("X-Task-Id"));
        var whileStreaming = await (await gateway.Client.GetAsync($"/api/v1/tasks/{taskId}")).Json();
        await body.CopyToAsync(received);
        var audioBytes = streamFormat == "audio"
            ? received.Length
            : SseEvents(received.ToArray()).Where(e => e.Type == "speech.audio.delta").Sum(e => (long)e.Audio!.Length);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(response.Content.Headers.ContentLength);
        var status = whileStreaming.GetProperty("status").GetString();
        Assert.True(status is "queued" or "processing", $"the task was {status} when its first audio arrived");
        Assert.True(audioBytes / 2.0 / 24000 > 120, $"only {audioBytes / 48000.0:0.0} s of audio");
        if (streamFormat == "sse")
        {
            Assert.Equal("speech.audio.done", SseEvents(received.ToArray())[^1].Type);
        }
    }

    [Fact]
    public async Task Speed_one_half_gives_twice_the_audio_of_speed_one()
    {
        async Task<double> Seconds(double speed)
        {
            using var response = await gateway.Client.PostAsync("/v1/audio/speech", JsonContent(new { model = "tts-1", input = Text, voice = "alloy", response_format = "pcm", speed }));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadAsByteArrayAsync()).Length / 2.0 / 24000;
        }

        var normal = await Seconds(1.0);
        var slow = await Seconds(0.5);

        Assert.True(slow / normal is > 1.8 and < 2.2, string.Create(CultureInfo.InvariantCulture, $"speed 0.5: {slow:0.000} s, speed 1.0: {normal:0.000} s"));
    }

    [Fact]
    public async Task A_client_that_hangs_up_mid_stream_stops_the_synthesis()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/audio/speech")
        {
            Content = JsonContent(new { model = "tts-1", input = s_longText, voice = "onyx", response_format = "mp3", speed = 0.5 }),
        };
        var response = await gateway.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var taskId = Assert.Single(response.Headers.GetValues("X-Task-Id"));
        var body = await response.Content.ReadAsStreamAsync();
        Assert.True(await body.ReadAsync(new byte[4096]) > 0);

        // Hanging up closes the connection; the gateway notices and stops the task.
        await body.DisposeAsync();
        response.Dispose();
        request.Dispose();
        var ended = await gateway.Grains.GetGrain<ITaskGrain>(taskId).WaitForCompletion().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(SynthesisStatus.Cancelled, ended?.Status);
    }

    [Fact]
    public async Task Configured_voice_map_instructions_priority_header_models_and_voices_are_served()
    {
        using var run = await OpenAiNodeClient.Run(gateway.BaseAddress, null,
            new { name = "mapped", @params = new { model = "tts-1", input = "Hola, ¿qué tal?", voice = "shimmer", response_format = "wav", instructions = "Speak warmly." } },
            new { name = "ours", @params = new { model = "mittts", input = "Bonjour.", voice = "fr-male-1", response_format = "wav" } },
            new { name = "critical", @params = new { model = "tts-1", input = "Urgent.", voice = "echo", response_format = "wav" }, headers = new Dictionary<string, string> { ["X-MitTts-Priority"] = "critical" } },
            new { name = "bad-priority", @params = new { model = "tts-1", input = "Urgent.", voice = "echo" }, headers = new Dictionary<string, string> { ["X-MitTts-Priority"] = "urgent" } });
        var mappedTask = await (await gateway.Client.GetAsync($"/api/v1/tasks/{run["mapped"].GetProperty("taskId").GetString()}")).Json();
        var criticalTask = await (await gateway.Client.GetAsync($"/api/v1/tasks/{run["critical"].GetProperty("taskId").GetString()}")).Json();
        var models = await (await gateway.Client.GetAsync("/v1/models")).Json();
        var model = await (await gateway.Client.GetAsync("/v1/models/tts-1-hd")).Json();
        var noModel = await gateway.Client.GetAsync("/v1/models/whisper-1");
        var voices = await (await gateway.Client.GetAsync("/v1/audio/voices")).Json();

        Assert.Equal(200, run["mapped"].GetProperty("status").GetInt32());
        Assert.Equal(200, run["ours"].GetProperty("status").GetInt32());
        Assert.Equal("es-female-1", mappedTask.GetProperty("voice_id").GetString());
        Assert.Equal("critical", criticalTask.GetProperty("priority").GetString());
        AssertError(run["bad-priority"], 400, "BadRequestError", "X-MitTts-Priority", "invalid_priority");
        Assert.Equal("list", models.GetProperty("object").GetString());
        Assert.Equal(["tts-1", "tts-1-hd", "gpt-4o-mini-tts", "mittts"], models.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.Equal(("tts-1-hd", "model"), (model.GetProperty("id").GetString(), model.GetProperty("object").GetString()));
        Assert.Equal("model_not_found", (await noModel.Json(HttpStatusCode.NotFound)).GetProperty("error").GetProperty("code").GetString());
        var byId = voices.GetProperty("data").EnumerateArray().ToDictionary(v => v.GetProperty("id").GetString()!, v => v.GetProperty("mittts_voice").GetString());
        Assert.Equal("es-female-1", byId["shimmer"]);
        Assert.Equal("en-female-1", byId["alloy"]);
        Assert.Equal("fr-male-1", byId["fr-male-1"]);
    }

    internal static void AssertError(JsonElement result, int status, string errorClass, string param, string code)
    {
        Assert.True(result.GetProperty("status").ValueKind == JsonValueKind.Number, result.ToString());
        Assert.Equal((status, errorClass), (result.GetProperty("status").GetInt32(), result.GetProperty("errorClass").GetString()));
        var error = result.GetProperty("error");
        Assert.Equal((param, code), (error.GetProperty("param").GetString(), error.GetProperty("code").GetString()));
        Assert.Equal(status == 404 || status < 500 ? "invalid_request_error" : "server_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
    }

    /// <summary>The complete server-sent events in <paramref name="stream"/>: each one's type and, for a delta, its decoded audio.</summary>
    private static List<(string Type, byte[]? Audio)> SseEvents(byte[] stream)
    {
        var events = new List<(string, byte[]?)>();
        var text = System.Text.Encoding.UTF8.GetString(stream);
        var blocks = text.Split("\n\n");
        foreach (var block in blocks[..^1])
        {
            Assert.StartsWith("data: ", block, StringComparison.Ordinal);
            using var json = JsonDocument.Parse(block["data: ".Length..]);
            var type = json.RootElement.GetProperty("type").GetString()!;
            events.Add((type, type == "speech.audio.delta" ? Convert.FromBase64String(json.RootElement.GetProperty("audio").GetString()!) : null));
        }

        return events;
    }

    private static StringContent JsonContent(object body) => new(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");

    /// <summary>The same text through the REST API, as 24 kHz PCM: its duration in seconds.</summary>
    private async Task<double> ReferenceSeconds(string text, string voiceId)
    {
        var response = await gateway.Client.Synthesize(new { text, voice_id = voiceId, format = "pcm", sample_rate = 24000 }, wait: true);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadAsByteArrayAsync()).Length / 2.0 / 24000;
    }
}
