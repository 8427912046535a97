using System.Net;
using System.Text.Json;
using MitTts.Tests.Speech.Onnx;
using MitTts.Tests.Support;

namespace MitTts.Tests.Api;

/// <summary>Piper and Kokoro voices dropped into the models folder, heard through the real REST API: listed, spoken in every format,
/// broken files reported without stopping anything, the CUDA device's fallback shown.</summary>
[Collection(NeuralGatewayCollection.Name)]
public sealed class NeuralVoicesApiTests(NeuralGatewayFixture gateway)
{
    private const string Hello = "Hello, world.";

    [Fact]
    public async Task Models_in_the_folder_are_listed_as_voices_with_engine_language_and_rate()
    {
        var piper = await gateway.Voice(NeuralGatewayFixture.PiperFile);
        var heart = await gateway.Voice(NeuralVoiceDiscoveryNames.Kokoro, "heart");
        var lewis = await gateway.Voice(NeuralVoiceDiscoveryNames.Kokoro, "lewis");

        Assert.Equal("piper", piper.GetProperty("engine").GetString());
        Assert.Equal("en", piper.GetProperty("language").GetString());
        Assert.Equal(NeuralTestModels.PiperSampleRate, piper.GetProperty("sample_rate").GetInt32());
        Assert.True(piper.GetProperty("is_available").GetBoolean());
        Assert.Matches("^en-test-[0-9]+$", piper.GetProperty("id").GetString());
        Assert.Equal("kokoro", heart.GetProperty("engine").GetString());
        Assert.Equal(24000, heart.GetProperty("sample_rate").GetInt32());
        Assert.Equal("female", heart.GetProperty("gender").GetString());
        Assert.Equal("male", lewis.GetProperty("gender").GetString());
        Assert.True(lewis.GetProperty("is_available").GetBoolean());

        // The espeak-ng catalogue is still there, beside them.
        var all = await (await gateway.Client.GetAsync("/api/v1/voices")).Json();
        Assert.Contains(all.GetProperty("voices").EnumerateArray(), v => v.GetProperty("id").GetString() == "es-female-1");
    }

    [Fact]
    public async Task A_broken_model_and_a_broken_config_are_reported_and_every_other_voice_works()
    {
        var status = await (await gateway.Client.GetAsync("/api/v1/status")).Json();
        var problems = status.GetProperty("tts_engine").GetProperty("model_problems").EnumerateArray()
            .Select(p => (File: p.GetProperty("file").GetString()!, Reason: p.GetProperty("reason").GetString()!)).ToList();
        var model = Assert.Single(problems, p => p.File.EndsWith(NeuralGatewayFixture.BrokenModelFile, StringComparison.Ordinal));
        Assert.Contains("ONNX Runtime cannot load it", model.Reason, StringComparison.Ordinal);
        Assert.Single(problems, p => p.File.EndsWith(NeuralGatewayFixture.BrokenConfigFile, StringComparison.Ordinal));

        var broken = await gateway.Voice(NeuralGatewayFixture.BrokenModelFile);
        Assert.False(broken.GetProperty("is_available").GetBoolean());
        var refused = await gateway.Client.Synthesize(new { text = Hello, voice_id = broken.GetProperty("id").GetString() }, wait: true);
        await refused.AssertProblem(HttpStatusCode.ServiceUnavailable, "voice_unavailable", "voice_id");

        var works = await gateway.Client.Synthesize(new { text = Hello, voice_id = await gateway.VoiceId(NeuralGatewayFixture.PiperFile), format = "wav" }, wait: true);
        Assert.Equal(HttpStatusCode.OK, works.StatusCode);
        var espeak = await gateway.Client.Synthesize(new { text = "Hola.", voice_id = "es-female-1", format = "wav" }, wait: true);
        Assert.Equal(HttpStatusCode.OK, espeak.StatusCode);
    }

    [Fact]
    public async Task A_cuda_device_without_a_gpu_runs_its_sessions_on_cpu_and_says_why()
    {
        // On a machine with an NVIDIA GPU and CUDA 13 libraries the provider would load; here (none) the fallback is what there is to see.
        using var models = new NeuralModelFolder();
        models.AddEspeakCatalogue();
        models.AddPiper("en_US-test-x_low", NeuralTestModels.Piper(), NeuralTestModels.PiperConfig());
        await using var server = await RunningGateway.Start(
            $"--tts:model_path={models.Path}", "--tts:onnx_threads=1", "--cluster:devices:0=cpu:0", "--cluster:devices:1=cuda:0");

        var status = await (await server.Client.GetAsync("/api/v1/status")).Json();
        var devices = status.GetProperty("tts_engine").GetProperty("devices").EnumerateArray().ToList();
        var cuda = devices.Single(d => d.GetProperty("key").GetString()!.EndsWith("/cuda:0", StringComparison.Ordinal));
        var cpu = devices.Single(d => d.GetProperty("key").GetString()!.EndsWith("/cpu:0", StringComparison.Ordinal));

        Assert.Equal("CPUExecutionProvider", cpu.GetProperty("execution_provider").GetString());
        Assert.Equal(JsonValueKind.Null, cpu.GetProperty("fallback_reason").ValueKind);
        if (!OnnxDeviceTests.HasNvidiaGpu)
        {
            Assert.Equal("CPUExecutionProvider", cuda.GetProperty("execution_provider").GetString());
            Assert.Contains("CUDA execution provider", cuda.GetProperty("fallback_reason").GetString(), StringComparison.Ordinal);
        }

        // Sessions opened at startup and kept, on each device.
        foreach (var device in (JsonElement[])[cpu, cuda])
        {
            var model = Assert.Single(device.GetProperty("models").EnumerateArray());
            Assert.EndsWith("en_US-test-x_low.onnx", model.GetProperty("path").GetString(), StringComparison.Ordinal);
            Assert.Equal("piper", model.GetProperty("engine").GetString());
        }

        // Both devices speak the voice; the fallback device gives the same audio as the CPU one.
        var voice = (await (await server.Client.GetAsync("/api/v1/voices?language=en")).Json()).GetProperty("voices").EnumerateArray()
            .Single(v => v.GetProperty("engine").GetString() == "piper").GetProperty("id").GetString();
        var first = await server.Client.Synthesize(new { text = Hello, voice_id = voice, format = "pcm" }, wait: true);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
    }

    [Fact]
    public async Task Sessions_are_opened_at_startup_and_kept()
    {
        var devices = await gateway.Devices();
        var models = Assert.Single(devices).GetProperty("models").EnumerateArray().Select(m => m.GetProperty("path").GetString()!).ToList();

        Assert.Contains(models, m => m.EndsWith(NeuralGatewayFixture.PiperFile, StringComparison.Ordinal));
        Assert.Contains(models, m => m.EndsWith(NeuralVoiceDiscoveryNames.Kokoro, StringComparison.Ordinal));
        Assert.DoesNotContain(models, m => m.EndsWith(NeuralGatewayFixture.BrokenModelFile, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_piper_voice_speaks_exactly_its_ids_at_its_own_rate()
    {
        var id = await gateway.VoiceId(NeuralGatewayFixture.PiperFile);

        var response = await gateway.Client.Synthesize(new { text = Hello, voice_id = id, format = "wav" }, wait: true);

        var wav = await response.Content.ReadAsByteArrayAsync();
        var pcm = await AudioDecoders.Ffmpeg(wav, "wav");
        var ids = await gateway.PiperIds(Hello);
        Assert.Equal(NeuralTestModels.PiperSampleRate, pcm.SampleRate);
        Assert.Equal(ids.Length * NeuralTestModels.BlockSamples, pcm.Samples.Length);

        // Loudness normalization changes the gain, not the shape: the blocks are the ids, scaled.
        var expected = ids.SelectMany(i => Enumerable.Repeat((short)i, NeuralTestModels.BlockSamples)).ToArray();
        Assert.True(AudioMeasures.CentredCorrelation(expected, pcm.Samples) > 0.999);
    }

    [Theory]
    [InlineData("wav", 24000)]
    [InlineData("pcm", 48000)]
    [InlineData("mp3", 22050)]
    [InlineData("ogg", 16000)]
    [InlineData("mulaw", 8000)]
    [InlineData("alaw", 8000)]
    public async Task Every_format_and_rate_works_for_a_piper_voice(string format, int rate)
    {
        var id = await gateway.VoiceId(NeuralGatewayFixture.PiperFile);
        const string text = "Hello, world. This is a neural voice.";

        var response = await gateway.Client.Synthesize(new { text, voice_id = id, format, sample_rate = rate }, wait: true);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var audio = await response.Content.ReadAsByteArrayAsync();
        var expectedSeconds = (double)(await gateway.PiperIds(text)).Length * NeuralTestModels.BlockSamples / NeuralTestModels.PiperSampleRate;
        if (format == "pcm")
        {
            Assert.Equal(rate.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues("X-Sample-Rate").Single());
            Assert.InRange(audio.Length / 2.0 / rate, expectedSeconds - 0.002, expectedSeconds + 0.002);
            return;
        }

        // Decoded by ffmpeg (MP3 gapless through the LAME Info frame, Opus's pre-skip dropped): the length the ids give.
        var decoded = await AudioDecoders.Ffmpeg(audio, format is "mulaw" or "alaw" ? "wav" : format);
        Assert.Equal(format == "ogg" ? 48000 : rate, decoded.SampleRate);
        Assert.InRange(decoded.DurationSeconds, (expectedSeconds * 0.98) - 0.005, (expectedSeconds * 1.02) + 0.005);
    }

    [Theory]
    [InlineData(2.0, 1.0, 50)]
    [InlineData(0.5, 1.0, 200)]
    [InlineData(1.0, 1.5, 100)]
    public async Task Speed_is_the_models_length_scale_and_pitch_keeps_the_length(double speed, double pitch, int samplesPerId)
    {
        var id = await gateway.VoiceId(NeuralGatewayFixture.PiperFile);

        var response = await gateway.Client.Synthesize(new { text = Hello, voice_id = id, format = "pcm", speed, pitch }, wait: true);

        var samples = (await response.Content.ReadAsByteArrayAsync()).Length / 2;
        var ids = await gateway.PiperIds(Hello);
        if (pitch == 1.0)
        {
            Assert.Equal(ids.Length * samplesPerId, samples);
        }
        else
        {
            Assert.InRange(samples, ids.Length * samplesPerId * 0.98, ids.Length * samplesPerId * 1.02);
        }
    }

    [Fact]
    public async Task A_kokoro_voice_speaks_at_24_kHz_one_run_per_sentence()
    {
        var id = await gateway.VoiceId(NeuralVoiceDiscoveryNames.Kokoro, "heart");

        var response = await gateway.Client.Synthesize(new { text = Hello, voice_id = id, format = "wav" }, wait: true);

        var pcm = await AudioDecoders.Ffmpeg(await response.Content.ReadAsByteArrayAsync(), "wav");
        Assert.Equal(24000, pcm.SampleRate);

        // One run: token blocks of 100 samples, then the two samples that carry the style.
        Assert.Equal(2, pcm.Samples.Length % NeuralTestModels.BlockSamples);
        Assert.True(pcm.Samples.Length > 5 * NeuralTestModels.BlockSamples);
    }
}

/// <summary>The file names discovery looks for.</summary>
internal static class NeuralVoiceDiscoveryNames
{
    public const string Kokoro = MitTts.Speech.Engines.Onnx.NeuralVoiceDiscovery.KokoroModelFile;
}
