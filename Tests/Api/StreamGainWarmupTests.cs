using Microsoft.Extensions.DependencyInjection;
using MitTts.Grains.Synthesis;
using MitTts.Grains.Synthesis.Neural;
using MitTts.Grains.Voices;
using MitTts.Speech.Engines.Onnx.Kokoro;
using MitTts.Speech.Engines.Onnx.Piper;
using MitTts.Tests.Speech.Onnx;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Api;

/// <summary>A single-speaker Piper model opened at startup learns its stream gain then, so its first stream does not calibrate.</summary>
public sealed class StreamGainWarmupTests
{
    [Fact]
    public async Task A_piper_voice_learns_its_stream_gain_at_startup_and_kokoro_voices_wait_for_their_first_stream()
    {
        using var models = new NeuralModelFolder();
        models.AddEspeakCatalogue();
        models.AddPiper("en_US-warm-x_low", NeuralTestModels.Piper(), NeuralTestModels.PiperConfig());
        models.AddKokoro("af_heart");
        await using var gateway = await RunningGateway.Start($"--tts:model_path={models.Path}", "--tts:cache_size=0", "--tts:onnx_threads=1");

        var renderer = gateway.Services.GetRequiredService<SpeechRenderer>();
        var voices = gateway.Services.GetRequiredService<VoiceCatalog>().Voices;
        var piper = Assert.Single(voices, v => v.Engine == PiperEngine.EngineName);
        var kokoro = Assert.Single(voices, v => v.Engine == KokoroEngine.EngineName);

        // No request is made: only the startup can have learnt it.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!renderer.KnowsStreamGain(piper))
        {
            Assert.True(DateTime.UtcNow < deadline, "the Piper voice's stream gain was not learnt at startup");
            await Task.Delay(20);
        }

        Assert.False(renderer.KnowsStreamGain(kokoro), "a Kokoro voice calibrates on its first stream, not at startup");
    }

    [Fact]
    public async Task With_calibration_at_startup_off_a_voice_learns_its_gain_on_its_first_stream()
    {
        using var models = new NeuralModelFolder();
        models.AddEspeakCatalogue();
        models.AddPiper("en_US-cold-x_low", NeuralTestModels.Piper(), NeuralTestModels.PiperConfig());
        await using var gateway = await RunningGateway.Start(
            $"--tts:model_path={models.Path}", "--tts:cache_size=0", "--tts:onnx_threads=1", "--tts:calibrate_at_startup=false");

        var renderer = gateway.Services.GetRequiredService<SpeechRenderer>();
        var piper = Assert.Single(gateway.Services.GetRequiredService<VoiceCatalog>().Voices, v => v.Engine == PiperEngine.EngineName);
        var warmup = gateway.Services.GetRequiredService<StreamGainWarmup>();

        // A voice the warmup would take (its model is open), not known before its first stream.
        Assert.Single(warmup.Voices(["cpu:0"]), v => v.Voice.Id == piper.Id);
        Assert.False(renderer.KnowsStreamGain(piper));

        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "synthesize", text = "Hello.", voice_id = piper.Id, format = "pcm" });
        var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        var end = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));
        Assert.Equal("completed", end[^1].Str("status"));
        Assert.True(renderer.KnowsStreamGain(piper), "the first stream learnt it");
    }
}
