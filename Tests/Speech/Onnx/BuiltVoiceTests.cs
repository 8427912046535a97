using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Espeak;
using MitTts.Speech.Engines.Onnx;
using MitTts.Speech.Engines.Onnx.Kokoro;
using MitTts.Speech.Engines.Onnx.Piper;
using MitTts.Tests.Support;

namespace MitTts.Tests.Speech.Onnx;

/// <summary>The benchmark's built voices of realistic size, at a reduced width: the real engines load them and speak through them at
/// the families' rates and a real voice's pace.</summary>
public sealed class BuiltVoiceTests : IDisposable
{
    private const string Text = "Your order ships on Tuesday and should arrive by five in the afternoon.";

    private readonly NeuralModelFolder _models = new();
    private readonly EspeakPhonemizer _phonemizer = new();
    private readonly OnnxSessionFactory _cpu = new(new OnnxDeviceOptions("cpu", IntraOpNumThreads: 1));

    public void Dispose() => _models.Dispose();

    [Fact]
    public async Task Built_Piper_voice_speaks_at_22050_Hz_at_a_real_voices_pace_and_follows_length_scale()
    {
        var path = Path.Combine(_models.Path, "en_US-built-medium.onnx");
        var parameters = BuiltPiperVoice.Write(path, divisor: 4);
        File.WriteAllText(path + ".json", BuiltPiperVoice.Config());
        using var model = PiperModel.Open(path, _cpu);
        var engine = new PiperEngine(model, _phonemizer);

        var normal = await Say(engine, 1.0);
        var slow = await Say(engine, 0.5);

        Assert.InRange(parameters, 500_000, 2_000_000);
        Assert.Equal(BuiltPiperVoice.SampleRate, engine.SampleRate);
        var phonemes = 0;
        foreach (var sentence in await _phonemizer.PhonemizeAsync(Text, "en-us"))
        {
            phonemes += sentence.EnumerateRunes().Count();
        }

        // About 0.08 s a phoneme, in whole frames of 256 samples; twice the length scale, about twice the audio.
        Assert.Equal(0, normal.Length % BuiltPiperVoice.HopSamples);
        Assert.InRange(normal.Length / (double)BuiltPiperVoice.SampleRate / phonemes, 0.06, 0.10);
        Assert.InRange(slow.Length / (double)normal.Length, 1.7, 2.2);
        Assert.Contains(normal, s => s != 0);
    }

    [Fact]
    public void Built_Piper_voice_gives_each_row_of_a_batch_its_own_length_with_finite_samples()
    {
        var path = Path.Combine(_models.Path, "en_US-built-medium.onnx");
        BuiltPiperVoice.Write(path, divisor: 4);
        File.WriteAllText(path + ".json", BuiltPiperVoice.Config());
        using var model = PiperModel.Open(path, _cpu);
        long[] shortIds = [1, 20, 0, 30, 0, 40, 0, 2];
        var longIds = Enumerable.Range(0, 60).Select(i => (long)(i % 2 == 0 ? 0 : 20 + i)).Prepend(1).Append(2).ToArray();

        var alone = model.Synthesize([new PiperUtterance(shortIds)], model.Config.Scales)[0];
        var batch = model.Synthesize([new PiperUtterance(shortIds), new PiperUtterance(longIds)], model.Config.Scales);

        Assert.Equal(0, alone.Length % BuiltPiperVoice.HopSamples);
        Assert.InRange(batch[0].Length, alone.Length - 8, alone.Length);
        Assert.True(batch[1].Length > 5 * alone.Length, $"{batch[1].Length} samples for 62 ids, {alone.Length} for 8");
        Assert.All(batch.SelectMany(row => row), sample => Assert.True(float.IsFinite(sample) && Math.Abs(sample) <= 1));
    }

    [Fact]
    public async Task Built_Kokoro_model_speaks_at_24_kHz_uses_style_and_follows_speed()
    {
        var parameters = BuiltKokoroModel.Write(_models.Path, divisor: 8);
        using var model = KokoroModel.Open(Path.Combine(_models.Path, NeuralVoiceDiscovery.KokoroModelFile), _cpu);
        var voices = KokoroVoicePack.Load(Path.Combine(_models.Path, NeuralVoiceDiscovery.KokoroVoicesFile));
        var vocabulary = KokoroVocabulary.Load(Path.Combine(_models.Path, NeuralVoiceDiscovery.KokoroConfigFile));
        var engine = new KokoroEngine(model, voices, vocabulary, _phonemizer);

        var normal = await Say(engine, 1.0, "af_heart");
        var fast = await Say(engine, 2.0, "af_heart");
        var other = await Say(engine, 1.0, "am_adam");

        Assert.InRange(parameters, 500_000, 3_000_000);
        Assert.Equal(KokoroModel.SampleRate, engine.SampleRate);
        var tokens = 0;
        foreach (var sentence in await _phonemizer.PhonemizeAsync(Text, "en-us"))
        {
            tokens += vocabulary.Tokenize(sentence).Tokens.Length;
        }

        Assert.Equal(0, normal.Length % BuiltKokoroModel.FrameSamples);
        Assert.InRange(normal.Length / (double)KokoroModel.SampleRate / tokens, 0.045, 0.09);
        Assert.InRange(fast.Length / (double)normal.Length, 0.3, 0.65);
        Assert.NotEqual(normal, other);
        Assert.Contains(normal, s => s != 0);
    }

    [Fact]
    public void Built_Kokoro_model_gives_finite_audio_for_the_longest_run()
    {
        BuiltKokoroModel.Write(_models.Path, divisor: 8);
        using var model = KokoroModel.Open(Path.Combine(_models.Path, NeuralVoiceDiscovery.KokoroModelFile), _cpu);
        var voices = KokoroVoicePack.Load(Path.Combine(_models.Path, NeuralVoiceDiscovery.KokoroVoicesFile));
        var tokens = Enumerable.Range(0, KokoroVocabulary.MaxTokens).Select(i => (long)(1 + (i % 150))).ToArray();

        var audio = model.Synthesize(tokens, voices.Style("af_heart", tokens.Length), 1f);

        Assert.True(audio.Length > KokoroVocabulary.MaxTokens * BuiltKokoroModel.FrameSamples, $"{audio.Length} samples");
        Assert.All(audio, sample => Assert.True(float.IsFinite(sample) && Math.Abs(sample) <= 1));
    }

    private static async Task<short[]> Say(ISpeechEngine engine, double speed, string voice = "")
    {
        var sink = new CollectingSink();
        await engine.SynthesizeAsync(new SpeechRequest(Text, voice, speed), sink);
        return sink.Samples;
    }
}
