using System.Diagnostics;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Espeak;
using MitTts.Speech.Engines.Onnx;
using MitTts.Speech.Engines.Onnx.Piper;
using MitTts.Tests.Support;

namespace MitTts.Tests.Speech.Onnx;

public sealed class PiperEngineTests : IDisposable
{
    private const string English = "Hello, world! How are you?";
    private const string Spanish = "Hola, ¿qué tal? Esto es una prueba del motor de síntesis.";

    private readonly NeuralModelFolder _models = new();
    private readonly EspeakPhonemizer _phonemizer = new();
    private readonly OnnxSessionFactory _cpu = new(new OnnxDeviceOptions("cpu", IntraOpNumThreads: 1));
    private readonly List<PiperModel> _opened = [];

    public void Dispose()
    {
        foreach (var model in _opened)
        {
            model.Dispose();
        }

        _models.Dispose();
    }

    private PiperModel Open(byte[] model, string config)
    {
        var opened = PiperModel.Open(_models.AddPiper($"voice-{_opened.Count}", model, config), _cpu);
        _opened.Add(opened);
        return opened;
    }

    // Volume normalization off: the test models' audio is read back value by value.
    private PiperEngine Engine(byte[]? model = null, string? config = null) =>
        new(Open(model ?? NeuralTestModels.Piper(), config ?? NeuralTestModels.PiperConfig()), _phonemizer, normalizeVolume: false);

    private static async Task<short[]> Say(PiperEngine engine, string text, string voice = "", double speed = 1.0)
    {
        var sink = new CollectingSink();
        await engine.SynthesizeAsync(new SpeechRequest(text, voice, speed), sink);
        return sink.Samples;
    }

    private async Task<long[]> ExpectedIds(string text, string voice, PiperVoiceConfig config)
    {
        var ids = new List<long>();
        foreach (var sentence in await _phonemizer.PhonemizeAsync(text, voice))
        {
            ids.AddRange(PiperPhonemeIds.Encode(sentence, config.PhonemeIds).Ids);
        }

        return [.. ids];
    }

    [Fact]
    public async Task Audio_carries_the_ids_Piper_gives_the_text_at_the_models_rate()
    {
        var engine = Engine();
        var model = _opened[0];

        var pcm = await Say(engine, English);

        var expected = await ExpectedIds(English, "en-us", model.Config);
        Assert.Equal(NeuralTestModels.PiperSampleRate, engine.SampleRate);
        Assert.Equal(expected.Length * NeuralTestModels.BlockSamples, pcm.Length);
        Assert.Equal(expected, NeuralTestModels.Blocks(pcm, NeuralTestModels.BlockSamples));
        Assert.Equal(0, engine.UnknownPhonemes);
    }

    [Fact]
    public async Task By_default_each_sentence_is_brought_to_full_scale_as_Piper_does()
    {
        var engine = new PiperEngine(Open(NeuralTestModels.Piper(), NeuralTestModels.PiperConfig()), _phonemizer);
        var raw = await Say(Engine(), "Hello. How are you?");

        var normalized = await Say(engine, "Hello. How are you?");

        Assert.Equal(raw.Length, normalized.Length);
        Assert.Equal(short.MaxValue, normalized.Max());
        var loudest = Array.IndexOf(raw, raw.Max());
        Assert.Equal(short.MaxValue, normalized[loudest]);
    }

    [Fact]
    public async Task Ids_follow_Piper_rules_bos_pad_after_every_phoneme_eos()
    {
        var config = Open(NeuralTestModels.Piper(), NeuralTestModels.PiperConfig()).Config;

        var (ids, unknown) = PiperPhonemeIds.Encode("ab.", config.PhonemeIds);

        Assert.Equal("^_a_b_._$", PiperPhonemeIds.Decode(ids, config.PhonemeIds));
        Assert.Equal(0, unknown);
    }

    [Theory]
    [InlineData(Spanish, "es")]
    [InlineData("Hello, world! How are you? I am fine: thanks; really.", "en-us")]
    public async Task Phonemes_read_back_from_the_audio_are_espeak_ngs_IPA_with_punctuation(string text, string voice)
    {
        var engine = Engine(config: NeuralTestModels.PiperConfig(voice));
        var pcm = await Say(engine, text);

        var heard = PiperPhonemeIds.Decode(NeuralTestModels.Blocks(pcm, NeuralTestModels.BlockSamples), _opened[0].Config.PhonemeIds);
        var (reference, _, _) = await ExternalTool.Run("espeak-ng", "-q", "--ipa", "-v", voice, text);

        // Piper's sentences: ^_p_h_o_n_e_m_e_s_$, punctuation and all; without pads and punctuation they are espeak-ng's clauses.
        Assert.StartsWith("^_", heard, StringComparison.Ordinal);
        Assert.EndsWith("_$", heard, StringComparison.Ordinal);
        var phonemes = new StringBuilder();
        var punctuation = new StringBuilder();
        foreach (var c in heard.Replace("_", string.Empty, StringComparison.Ordinal))
        {
            if (c is '.' or ',' or '?' or '!' or ':' or ';')
            {
                punctuation.Append(c);
            }
            else
            {
                phonemes.Append(c is '^' or '$' ? ' ' : c);
            }
        }

        var clauses = reference.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(
            string.Join(' ', clauses).Normalize(NormalizationForm.FormD),
            string.Join(' ', phonemes.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries)));
        var expectedPunctuation = new StringBuilder();
        foreach (var c in text)
        {
            if (c is '.' or ',' or '?' or '!' or ':' or ';')
            {
                expectedPunctuation.Append(c);
            }
        }

        Assert.Equal(expectedPunctuation.ToString(), punctuation.ToString());
    }

    [Theory]
    [InlineData(1.0, 1.0f, 100)]
    [InlineData(2.0, 1.0f, 50)]
    [InlineData(0.5, 1.0f, 200)]
    [InlineData(1.0, 1.5f, 150)]
    public async Task Speed_and_the_voices_length_scale_set_the_length(double speed, float lengthScale, int samplesPerId)
    {
        var engine = Engine(config: NeuralTestModels.PiperConfig(lengthScale: lengthScale));

        var pcm = await Say(engine, "Hello.", speed: speed);

        var ids = await ExpectedIds("Hello.", "en-us", _opened[0].Config);
        Assert.Equal(ids.Length * samplesPerId, pcm.Length);
        Assert.Equal(ids, NeuralTestModels.Blocks(pcm, samplesPerId));
    }

    [Theory]
    [InlineData("bob", 1)]
    [InlineData("carol", 2)]
    [InlineData("2", 2)]
    [InlineData("", 0)]
    public async Task A_speaker_name_or_number_reaches_the_model_as_sid(string voice, int sid)
    {
        var engine = Engine(NeuralTestModels.Piper(withSpeakers: true), NeuralTestModels.PiperConfig(speakers: ["alice", "bob", "carol"]));

        var pcm = await Say(engine, "Hello.", voice);

        var ids = await ExpectedIds("Hello.", "en-us", _opened[0].Config);
        Assert.Equal(ids.Select(id => id + (256 * sid)), NeuralTestModels.Blocks(pcm, NeuralTestModels.BlockSamples));
    }

    [Fact]
    public async Task An_unknown_speaker_is_refused()
    {
        var engine = Engine(NeuralTestModels.Piper(withSpeakers: true), NeuralTestModels.PiperConfig(speakers: ["alice"]));

        await Assert.ThrowsAsync<ArgumentException>(() => Say(engine, "Hello.", "zoe"));
    }

    [Fact]
    public async Task Unknown_phonemes_are_skipped_and_counted()
    {
        var engine = Engine(config: NeuralTestModels.PiperConfig(without: "ʊ"));
        var config = _opened[0].Config;

        var (ids, unknown) = PiperPhonemeIds.Encode("həlˈoʊ", config.PhonemeIds);
        var pcm = await Say(engine, "Hello. Hello.");

        Assert.Equal(1, unknown);
        Assert.Equal("^_h_ə_l_ˈ_o_$", PiperPhonemeIds.Decode(ids, config.PhonemeIds));
        Assert.Equal(2, engine.UnknownPhonemes);
        Assert.Equal(2 * (ids.Length + 2) * NeuralTestModels.BlockSamples, pcm.Length); // each sentence also has ". _"
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_batch_gives_each_job_the_audio_it_would_get_alone(bool modelGivesLengths)
    {
        var engine = Engine(
            NeuralTestModels.Piper(withSpeakers: true, withLengths: modelGivesLengths), NeuralTestModels.PiperConfig(speakers: ["alice", "bob"]));
        (string Text, string Voice, double Speed)[] jobs =
        [
            ("Hello.", "alice", 1.0),
            ("How are you today, my friend? Fine.", "bob", 1.0),
            ("Yes!", "bob", 2.0),
            ("One more sentence for the batch.", "alice", 1.0),
        ];

        var sinks = jobs.Select(_ => new CollectingSink()).ToArray();
        await engine.SynthesizeBatchAsync([.. jobs.Select((job, i) => new PiperBatchItem(new SpeechRequest(job.Text, job.Voice, job.Speed), sinks[i]))]);

        for (var i = 0; i < jobs.Length; i++)
        {
            var alone = await Say(engine, jobs[i].Text, jobs[i].Voice, jobs[i].Speed);
            Assert.NotEmpty(alone);
            Assert.Equal(alone, sinks[i].Samples);
        }
    }

    [Fact]
    public async Task A_cancelled_batch_item_gets_no_audio_and_the_others_do()
    {
        var engine = Engine();
        var first = new CollectingSink();
        var second = new CollectingSink();

        await engine.SynthesizeBatchAsync(
        [
            new PiperBatchItem(new SpeechRequest("Hello.", string.Empty), first, new CancellationToken(canceled: true)),
            new PiperBatchItem(new SpeechRequest("Hello.", string.Empty), second),
        ]);

        Assert.Empty(first.Samples);
        Assert.Equal(await Say(engine, "Hello."), second.Samples);
    }

    [Fact]
    public async Task Rows_of_one_run_are_padded_and_trimmed_back_to_their_own_length()
    {
        var model = Open(NeuralTestModels.Piper(), NeuralTestModels.PiperConfig());
        var config = model.Config;
        var shortIds = PiperPhonemeIds.Encode("a.", config.PhonemeIds).Ids;
        var longIds = PiperPhonemeIds.Encode("abcdef.", config.PhonemeIds).Ids;

        var audio = model.Synthesize([new PiperUtterance(longIds), new PiperUtterance(shortIds)], config.Scales);

        Assert.Equal(longIds.Length * NeuralTestModels.BlockSamples, audio[0].Length);
        Assert.Equal(shortIds.Length * NeuralTestModels.BlockSamples, audio[1].Length);
        await Task.CompletedTask;
    }

    [Fact]
    public void Cancelling_before_the_run_terminates_it_through_RunOptions()
    {
        var model = Open(NeuralTestModels.Piper(), NeuralTestModels.PiperConfig());
        var ids = PiperPhonemeIds.Encode("a.", model.Config.PhonemeIds).Ids;

        var error = Assert.Throws<OperationCanceledException>(
            () => model.Synthesize([new PiperUtterance(ids)], model.Config.Scales, new CancellationToken(canceled: true)));

        Assert.True(error.InnerException is OnnxRuntimeException, $"not ended by ONNX Runtime's Terminate: {error}");
    }

    [Fact]
    public async Task Cancelling_mid_run_terminates_the_inference()
    {
        // Four hundred 1024×1024 products: several seconds of work even on a fast core (forty took as little as ~0.3 s, so the cancel
        // sometimes came after the run), which Terminate cuts short between two of them.
        var model = Open(NeuralTestModels.Piper(slowMatMuls: 400), NeuralTestModels.PiperConfig());
        var ids = PiperPhonemeIds.Encode("həlˈoʊ.", model.Config.PhonemeIds).Ids;
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => Task.Run(() => model.Synthesize([new PiperUtterance(ids)], model.Config.Scales, cancel.Token)));

        Assert.True(error.InnerException is OnnxRuntimeException, $"not ended by ONNX Runtime's Terminate: {error}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public void A_config_without_a_phoneme_map_is_refused_naming_the_file()
    {
        var path = _models.AddPiper("broken", NeuralTestModels.Piper(), """{"audio":{"sample_rate":22050},"espeak":{"voice":"en-us"}}""");

        var error = Assert.Throws<InvalidDataException>(() => PiperModel.Open(path, _cpu));

        Assert.Contains("broken.onnx.json", error.Message, StringComparison.Ordinal);
        Assert.Contains("phoneme_id_map", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_corrupt_model_is_refused_naming_the_file()
    {
        var path = _models.AddPiper("corrupt", [1, 2, 3, 4, 5], NeuralTestModels.PiperConfig());

        var error = Assert.Throws<InvalidDataException>(() => PiperModel.Open(path, _cpu));

        Assert.Contains("corrupt.onnx", error.Message, StringComparison.Ordinal);
    }
}
