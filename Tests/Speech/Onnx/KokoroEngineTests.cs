using System.Text;
using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Espeak;
using MitTts.Speech.Engines.Onnx;
using MitTts.Speech.Engines.Onnx.Kokoro;
using MitTts.Tests.Support;

namespace MitTts.Tests.Speech.Onnx;

public sealed class KokoroEngineTests : IDisposable
{
    private readonly NeuralModelFolder _models = new();
    private readonly EspeakPhonemizer _phonemizer = new();
    private readonly KokoroModel _model;
    private readonly KokoroVoicePack _voices;
    private readonly KokoroVocabulary _vocabulary;
    private readonly KokoroEngine _engine;

    public KokoroEngineTests()
    {
        _models.AddKokoro("af_heart", "af_bella", "em_alex");
        _model = KokoroModel.Open(Path.Combine(_models.Path, "kokoro-v1.0.onnx"), new OnnxSessionFactory(new OnnxDeviceOptions("cpu", 1)));
        _voices = KokoroVoicePack.Load(Path.Combine(_models.Path, "voices-v1.0.bin"));
        _vocabulary = KokoroVocabulary.Load(Path.Combine(_models.Path, "config.json"));
        _engine = new KokoroEngine(_model, _voices, _vocabulary, _phonemizer);
    }

    public void Dispose()
    {
        _model.Dispose();
        _models.Dispose();
    }

    private sealed record Run(long[] Tokens, long Voice, long StyleRow);

    /// <summary>Reads the test model's audio back: per run, a 0 block, the token blocks, a 0 block, then the style's two values.</summary>
    private static List<Run> Runs(short[] pcm, int block)
    {
        var runs = new List<Run>();
        var p = 0;
        while (p < pcm.Length)
        {
            Assert.Equal(0, NeuralTestModels.Value(pcm[p + (block / 2)]));
            p += block;
            var tokens = new List<long>();
            while (NeuralTestModels.Value(pcm[p + (block / 2)]) != 0)
            {
                tokens.Add(NeuralTestModels.Value(pcm[p + (block / 2)]));
                p += block;
            }

            p += block;
            runs.Add(new Run([.. tokens], NeuralTestModels.Value(pcm[p]), NeuralTestModels.Value(pcm[p + 1])));
            p += 2;
        }

        return runs;
    }

    private async Task<short[]> Say(string text, string voice, double speed = 1.0)
    {
        var sink = new CollectingSink();
        await _engine.SynthesizeAsync(new SpeechRequest(text, voice, speed), sink);
        return sink.Samples;
    }

    [Fact]
    public async Task Each_sentence_is_one_run_of_its_tokens_with_the_style_row_of_its_length()
    {
        var pcm = await Say("Hello, world! How are you?", "af_bella");

        var sentences = await _phonemizer.PhonemizeAsync("Hello, world! How are you?", "en-us");
        var runs = Runs(pcm, NeuralTestModels.BlockSamples);
        Assert.Equal(24000, _engine.SampleRate);
        Assert.Equal(sentences.Count, runs.Count);
        for (var i = 0; i < runs.Count; i++)
        {
            var expected = _vocabulary.Tokenize(sentences[i]).Tokens;
            Assert.Equal(expected, runs[i].Tokens);
            Assert.Equal(2, runs[i].Voice);
            Assert.Equal(expected.Length, runs[i].StyleRow);
        }

        Assert.Equal(0, _engine.UnknownPhonemes);
    }

    [Fact]
    public async Task Kokoro_audio_is_24_kHz_PCM_that_ffmpeg_reads_back_sample_for_sample()
    {
        var pcm = await Say("Hello, how are you?", "af_heart");
        var wav = new System.Buffers.ArrayBufferWriter<byte>();
        MitTts.Speech.Audio.AudioEncoders.Get("wav").EncodeWhole(pcm, _engine.SampleRate, wav);

        var decoded = await AudioDecoders.Ffmpeg(wav.WrittenSpan.ToArray(), "wav");

        Assert.Equal(24000, decoded.SampleRate);
        Assert.Equal(1, decoded.Channels);
        Assert.Equal(pcm, decoded.Samples);
    }

    [Theory]
    [InlineData("af_heart", 1)]
    [InlineData("em_alex", 3)]
    public async Task The_voice_selects_its_style_vectors(string voice, int number)
    {
        var runs = Runs(await Say("Hola.", voice), NeuralTestModels.BlockSamples);

        Assert.All(runs, run => Assert.Equal(number, run.Voice));
    }

    [Theory]
    [InlineData(2.0, 50)]
    [InlineData(0.5, 200)]
    public async Task Speed_reaches_the_model(double speed, int samplesPerToken)
    {
        var runs = Runs(await Say("Hello there.", "af_heart", speed), samplesPerToken);

        Assert.Single(runs);
        Assert.NotEmpty(runs[0].Tokens);
    }

    [Fact]
    public async Task A_sentence_over_510_tokens_is_split_at_phrase_breaks()
    {
        var text = new StringBuilder();
        for (var i = 0; i < 30; i++)
        {
            text.Append("one two three four, five six seven eight; ");
        }

        text.Append("and the end.");
        var sentences = await _phonemizer.PhonemizeAsync(text.ToString(), "en-us");
        Assert.Single(sentences);
        var (all, _, _) = _vocabulary.Tokenize(sentences[0]);
        Assert.True(all.Length > 2 * KokoroVocabulary.MaxTokens, $"{all.Length} tokens");

        var runs = Runs(await Say(text.ToString(), "af_heart"), NeuralTestModels.BlockSamples);

        Assert.True(runs.Count >= 3, $"{runs.Count} runs");
        var comma = _vocabulary.Tokenize(",").Tokens[0];
        var semicolon = _vocabulary.Tokenize(";").Tokens[0];
        var space = _vocabulary.Tokenize(" ").Tokens[0];
        var joined = new List<long>();
        foreach (var run in runs)
        {
            Assert.InRange(run.Tokens.Length, 1, KokoroVocabulary.MaxTokens);
            Assert.Equal(run.Tokens.Length, run.StyleRow);
            Assert.NotEqual(space, run.Tokens[0]);
            joined.AddRange(run.Tokens);
            if (run != runs[^1])
            {
                Assert.Contains(run.Tokens[^1], new[] { comma, semicolon });
            }
        }

        Assert.Equal(all.Where(t => t != space), joined.Where(t => t != space));
    }

    [Fact]
    public void Split_prefers_sentence_ends_then_phrase_breaks_then_spaces()
    {
        // 0 none, 1 space, 2 phrase break, 3 sentence end.
        byte[] breaks = [0, 3, 0, 2, 0, 1, 0, 0, 2, 0, 1, 0, 0, 0];

        Assert.Equal([0..2, 2..9, 9..14], KokoroVocabulary.Split(breaks, max: 8));
        Assert.Equal([0..4, 4..6, 6..10, 10..14], KokoroVocabulary.Split([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], max: 4));
        Assert.Equal([0..3, 4..6], KokoroVocabulary.Split([0, 0, 1, 1, 0, 0], max: 3));
    }

    [Fact]
    public void Unknown_phonemes_are_skipped_and_counted()
    {
        var (tokens, _, unknown) = _vocabulary.Tokenize("ab#c");

        Assert.Equal(3, tokens.Length);
        Assert.Equal(1, unknown);
    }

    [Fact]
    public void The_voice_pack_is_read_as_numpy_writes_it()
    {
        Assert.Equal(["af_bella", "af_heart", "em_alex"], _voices.Voices.Order(StringComparer.Ordinal));
        var style = _voices.Style("af_bella", 42);
        Assert.Equal(2f, style[0]);
        Assert.Equal(42f, style[1]);
        Assert.Equal(509f, _voices.Style("af_bella", 600)[1]);
    }

    [Fact]
    public void Npy_headers_of_format_1_give_shape_and_values()
    {
        var npy = NeuralTestModels.Npy([1.5f, -2f, 3.25f, 0f, 7f, 8f], "(2, 3)");

        var array = NpzArchive.ReadNpy(npy);

        Assert.Equal([2, 3], array.Shape);
        Assert.Equal([1.5f, -2f, 3.25f, 0f, 7f, 8f], array.Values);
        Assert.Equal(0, (10 + BitConverter.ToUInt16(npy, 8)) % 64);
    }

    [Fact]
    public void A_voice_pack_of_the_wrong_shape_is_refused_naming_the_file()
    {
        var path = Path.Combine(_models.Path, "bad-voices.bin");
        using (var zip = new System.IO.Compression.ZipArchive(File.Create(path), System.IO.Compression.ZipArchiveMode.Create))
        using (var entry = zip.CreateEntry("af_x.npy").Open())
        {
            entry.Write(NeuralTestModels.Npy(new float[10], "(10,)"));
        }

        var error = Assert.Throws<InvalidDataException>(() => KokoroVoicePack.Load(path));

        Assert.Contains("bad-voices.bin", error.Message, StringComparison.Ordinal);
        Assert.Contains("af_x", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("af_heart", "en-us", "en", "female")]
    [InlineData("bm_george", "en", "en", "male")]
    [InlineData("ef_dora", "es", "es", "female")]
    [InlineData("zf_xiaobei", "cmn", "zh", "female")]
    public void Voice_names_say_language_and_gender(string voice, string espeak, string language, string gender)
    {
        Assert.Equal(espeak, KokoroVoiceNames.EspeakVoice(voice));
        Assert.Equal(language, KokoroVoiceNames.Language(voice));
        Assert.Equal(gender, KokoroVoiceNames.Gender(voice));
    }

    [Theory]
    [InlineData("af_heart")]
    [InlineData("bm_george")]
    [InlineData("ef_dora")]
    [InlineData("ff_siwis")]
    [InlineData("hf_alpha")]
    [InlineData("if_sara")]
    [InlineData("jf_alpha")]
    [InlineData("pf_dora")]
    [InlineData("zf_xiaobei")]
    public async Task Every_kokoro_language_has_an_espeak_ng_voice_here(string voice)
    {
        var phonemes = await new EspeakPhonemizer().PhonemizeAsync("Hello.", KokoroVoiceNames.EspeakVoice(voice)!);

        Assert.NotEmpty(string.Concat(phonemes));
    }
}
