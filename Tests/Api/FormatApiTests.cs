using System.Globalization;
using System.Net;
using MitTts.Tests.Support;

namespace MitTts.Tests.Api;

/// <summary>Every format and rate through the real gateway: content types, audio URLs, decodable audio, the audio cache, errors.</summary>
[Collection(GatewayCollection.Name)]
public sealed class FormatApiTests(GatewayFixture gateway)
{
    private HttpClient Client => gateway.Client;

    public static TheoryData<string, int?, string, string, int> Formats => new()
    {
        // format, sample_rate asked, Content-Type, ffprobe codec, rate ffmpeg decodes at
        { "wav", null, "audio/wav", "pcm_s16le", 22050 },
        { "wav", 16000, "audio/wav", "pcm_s16le", 16000 },
        { "pcm", 24000, "audio/pcm", "", 24000 },
        { "mp3", null, "audio/mpeg", "mp3", 22050 },
        { "mp3", 44100, "audio/mpeg", "mp3", 44100 },
        { "ogg", 48000, "audio/ogg", "opus", 48000 },
        { "ogg", 16000, "audio/ogg", "opus", 48000 },
        { "mulaw", null, "audio/wav", "pcm_mulaw", 8000 },
        { "alaw", 8000, "audio/wav", "pcm_alaw", 8000 },
        { "flac", null, "audio/flac", "flac", 22050 },
        { "flac", 24000, "audio/flac", "flac", 24000 },
        { "aac", null, "audio/aac", "aac", 22050 },
        { "aac", 48000, "audio/aac", "aac", 48000 },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Every_format_is_served_with_its_content_type_and_decodes_to_the_stated_duration(string format, int? sampleRate, string contentType, string codec, int decodedRate)
    {
        var text = $"This sentence is spoken as {format} at {sampleRate?.ToString(CultureInfo.InvariantCulture) ?? "the voice's own rate"}.";
        var response = await Client.Synthesize(new { text, voice_id = "en-female-1", format, sample_rate = sampleRate, store = true }, wait: true);
        var body = await response.Content.ReadAsByteArrayAsync();
        var taskId = Assert.Single(response.Headers.GetValues("X-Task-Id"));
        var duration = double.Parse(Assert.Single(response.Headers.GetValues("X-Audio-Duration")), CultureInfo.InvariantCulture);
        var fromUrl = await Client.GetAsync($"/api/v1/audio/{taskId}.{format}");
        var task = await (await Client.GetAsync($"/api/v1/tasks/{taskId}")).Json();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, fromUrl.StatusCode);
        Assert.Equal(contentType, fromUrl.Content.Headers.ContentType?.MediaType);
        Assert.Equal(body, await fromUrl.Content.ReadAsByteArrayAsync());
        Assert.Equal($"/api/v1/audio/{taskId}.{format}", task.GetProperty("audio_url").GetString());
        Assert.Equal(format, task.GetProperty("format").GetString());

        // The rate the audio is in, asked for or not (the voice's own, or G.711's 8000).
        Assert.Equal(sampleRate ?? decodedRate, task.GetProperty("sample_rate").GetInt32());
        Assert.True(duration > 1.0, $"duration {duration}");

        var decoded = format == "pcm"
            ? new Pcm(Pcm.FromS16Le(body), sampleRate!.Value, 1)
            : await AudioDecoders.Ffmpeg(body, format is "mulaw" or "alaw" ? "wav" : format);
        if (format != "pcm")
        {
            var probe = await ExternalTool.Ffprobe(body, format is "mulaw" or "alaw" ? "wav" : format);
            Assert.Equal((codec, 1), (probe.CodecName, probe.Channels));
        }

        Assert.Equal((decodedRate, 1), (decoded.SampleRate, decoded.Channels));
        // ADTS has no gapless tag: AAC decodes with the encoder's priming in front and the last frame padded.
        var expected = format == "aac" ? MitTts.Tests.Speech.Audio.AacEncoderTests.DecodedSeconds(duration, decodedRate) : duration;
        Assert.InRange(decoded.DurationSeconds, expected * 0.98, expected * 1.02);
        Assert.True(decoded.Rms > 0.02, $"decoded audio is near silence (RMS {decoded.Rms})");
    }

    [Fact]
    public async Task A_repeated_request_is_a_cache_hit_with_identical_bytes()
    {
        var request = new { text = "Caching makes the second answer instant.", voice_id = "en-male-1", format = "mp3", sample_rate = 24000 };

        var first = await Client.Synthesize(request, wait: true);
        var second = await Client.Synthesize(request, wait: true);
        var firstTask = await (await Client.GetAsync($"/api/v1/tasks/{Assert.Single(first.Headers.GetValues("X-Task-Id"))}")).Json();
        var secondTask = await (await Client.GetAsync($"/api/v1/tasks/{Assert.Single(second.Headers.GetValues("X-Task-Id"))}")).Json();

        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await second.Content.ReadAsByteArrayAsync());
        Assert.False(firstTask.GetProperty("cache_hit").GetBoolean());
        Assert.True(secondTask.GetProperty("cache_hit").GetBoolean());
        Assert.Equal(24000, secondTask.GetProperty("sample_rate").GetInt32());
    }

    [Fact]
    public async Task A_streamed_task_the_cache_answered_says_so()
    {
        var text = "The cache answers sockets too " + Guid.NewGuid().ToString("N")[..8] + ".";
        (await Client.Synthesize(new { text, voice_id = "en-male-1", format = "pcm" }, wait: true)).EnsureSuccessStatusCode();

        await using var socket = await WebSockets.ProtocolClient.Connect(gateway.BaseAddress);
        await socket.Send(new { type = "synthesize", text, voice_id = "en-male-1", format = "pcm" });
        var messages = await socket.ReceiveUntil(m => m.Str("status") is "completed" or "error");
        var task = await (await Client.GetAsync($"/api/v1/tasks/{messages[^1].Str("task_id")}")).Json();

        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.True(task.GetProperty("cache_hit").GetBoolean());
    }

    [Theory]
    [InlineData("""{"text": "x", "format": "aiff"}""", "unsupported_format", "format")]
    [InlineData("""{"text": "x", "format": "2"}""", "unsupported_format", "format")]
    [InlineData("""{"text": "x", "sample_rate": 11025}""", "invalid_sample_rate", "sample_rate")]
    [InlineData("""{"text": "x", "sample_rate": 0}""", "invalid_sample_rate", "sample_rate")]
    [InlineData("""{"text": "x", "format": "mulaw", "sample_rate": 16000}""", "invalid_sample_rate", "sample_rate")]
    [InlineData("""{"text": "x", "format": "alaw", "sample_rate": 44100}""", "invalid_sample_rate", "sample_rate")]
    [InlineData("""{"text": "x", "format": "mp3", "bitrate": 100}""", "invalid_bitrate", "bitrate")]
    [InlineData("""{"text": "x", "format": "ogg", "bitrate": 1000}""", "invalid_bitrate", "bitrate")]
    [InlineData("""{"text": "x", "format": "wav", "bitrate": 64}""", "invalid_bitrate", "bitrate")]
    public async Task Bad_format_sample_rate_or_bitrate_is_a_400_with_a_stable_code_and_field(string body, string code, string field)
    {
        var response = await Client.PostRaw(body);

        await response.AssertProblem(HttpStatusCode.BadRequest, code, field);
    }

    [Fact]
    public async Task Pitch_over_the_API_changes_the_voice_but_not_the_duration()
    {
        async Task<Pcm> Speak(double pitch)
        {
            var response = await Client.Synthesize(new { text = "The same sentence at two different pitches.", voice_id = "en-male-1", pitch }, wait: true);
            return Pcm.FromWav(await response.Content.ReadAsByteArrayAsync());
        }

        var low = await Speak(1.0);
        var high = await Speak(2.0);

        Assert.Equal(low.DurationSeconds, high.DurationSeconds, low.DurationSeconds * 0.05);
        Assert.NotEqual(low.Samples, high.Samples);
    }

    [Fact]
    public async Task Mp3_at_320_kbps_without_a_rate_comes_at_a_rate_that_carries_it_and_a_rate_that_cannot_is_refused()
    {
        // The voice speaks at 22050 Hz, where MP3 (MPEG-2) stops at 160 kbps: lame used to round 320 down to that without a word.
        var response = await Client.Synthesize(new { text = "Three hundred and twenty kilobits.", voice_id = "en-male-1", format = "mp3", bitrate = 320 }, wait: true);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("44100", response.Headers.GetValues("X-Sample-Rate").Single());
        var path = Path.Combine(Path.GetTempPath(), $"mittts-{Guid.NewGuid():N}.mp3");
        await File.WriteAllBytesAsync(path, await response.Content.ReadAsByteArrayAsync());
        try
        {
            var (probe, _, _) = await ExternalTool.Run("ffprobe", "-v", "error", "-show_entries", "stream=sample_rate,bit_rate", "-of", "csv=p=0", path);
            Assert.Equal("44100,320000", probe.Trim());
        }
        finally
        {
            File.Delete(path);
        }

        await (await Client.Synthesize(new { text = "x", voice_id = "en-male-1", format = "mp3", sample_rate = 22050, bitrate = 320 }))
            .AssertProblem(HttpStatusCode.BadRequest, "invalid_bitrate", "bitrate");
    }

    [Fact]
    public async Task Mp3_bitrate_over_the_API_changes_the_size()
    {
        async Task<int> Size(int bitrate)
        {
            var response = await Client.Synthesize(new { text = "The same words at two bitrates.", voice_id = "en-male-1", format = "mp3", sample_rate = 44100, bitrate }, wait: true);
            return (await response.Content.ReadAsByteArrayAsync()).Length;
        }

        Assert.InRange((double)await Size(128) / await Size(32), 3.0, 4.5);
    }
}
