using System.Text;
using MitTts.Speech.Engines.Espeak;
using MitTts.Tests.Support;

namespace MitTts.Tests.Speech.Onnx;

public sealed class EspeakPhonemizerTests
{
    private readonly EspeakPhonemizer _phonemizer = new();

    [Fact]
    public async Task English_sentences_come_back_as_IPA_with_their_punctuation()
    {
        var sentences = await _phonemizer.PhonemizeAsync("Hello, world! How are you?", "en-us");

        Assert.Equal(["həlˈoʊ, wˈɜːld!", "hˈaʊ ɑːɹ juː?"], sentences.Select(s => s.Normalize(NormalizationForm.FormC)));
    }

    [Fact]
    public async Task Spanish_keeps_commas_and_question_marks_and_drops_the_inverted_ones()
    {
        var sentences = await _phonemizer.PhonemizeAsync("Hola, ¿qué tal? Esto es una prueba.", "es");

        Assert.Equal(["ˈola, kˈe tˈal?", "ˈesto ˈes ˈuna pɾuˈeβa."], sentences.Select(s => s.Normalize(NormalizationForm.FormC)));
    }

    [Theory]
    [InlineData("Hello, world! How are you? I am fine: thanks; really.", "en-us")]
    [InlineData("Hola, ¿qué tal? Esto es una prueba del motor de síntesis.", "es")]
    public async Task Phonemes_are_what_the_espeak_ng_program_prints_for_each_clause(string text, string voice)
    {
        var (reference, _, _) = await ExternalTool.Run("espeak-ng", "-q", "--ipa", "-v", voice, text);
        var expected = string.Join(' ', reference.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

        var sentences = await _phonemizer.PhonemizeAsync(text, voice);
        var withoutPunctuation = new StringBuilder();
        foreach (var c in string.Join(' ', sentences))
        {
            if (c is not ('.' or ',' or '?' or '!' or ':' or ';'))
            {
                withoutPunctuation.Append(c);
            }
        }

        var actual = string.Join(' ', withoutPunctuation.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(expected.Normalize(NormalizationForm.FormD), actual);
    }

    [Fact]
    public async Task Phonemes_are_decomposed_so_that_each_code_point_is_one_phoneme()
    {
        var sentences = await _phonemizer.PhonemizeAsync("Ça va.", "fr");

        Assert.True(sentences[0].IsNormalized(NormalizationForm.FormD));
    }

    [Fact]
    public async Task Phonemizing_shares_the_engine_thread_with_synthesis()
    {
        var engine = new MitTts.Speech.Engines.Espeak.EspeakEngine();
        var sink = new CollectingSink();
        var tasks = new List<Task>();
        for (var i = 0; i < 20; i++)
        {
            tasks.Add(engine.SynthesizeAsync(new MitTts.Speech.Engines.SpeechRequest("Hola, ¿qué tal?", "es"), new CollectingSink()));
            tasks.Add(_phonemizer.PhonemizeAsync("Hello, world!", "en-us"));
        }

        await Task.WhenAll(tasks);
        await engine.SynthesizeAsync(new MitTts.Speech.Engines.SpeechRequest("Hola.", "es"), sink);
        Assert.NotEmpty(sink.Samples);
    }

    [Fact]
    public async Task A_synthesis_stopped_midway_leaves_nothing_behind_for_the_next_phonemes()
    {
        var engine = new EspeakEngine();
        using var stop = new CancellationTokenSource();
        var stopping = new StoppingSink(stop);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => engine.SynthesizeAsync(
            new MitTts.Speech.Engines.SpeechRequest("Zebras quickly jumped over the lazy fox, and then more words here. Another one.", "en-us"),
            stopping,
            stop.Token));
        var sentences = await _phonemizer.PhonemizeAsync("Hello, world!", "en-us");

        Assert.Equal(["həlˈoʊ, wˈɜːld!"], sentences.Select(s => s.Normalize(NormalizationForm.FormC)));
    }

    private sealed class StoppingSink(CancellationTokenSource stop) : MitTts.Speech.Engines.IPcmSink
    {
        public void Write(ReadOnlySpan<short> samples) => stop.Cancel();
    }

    [Theory]
    [InlineData("Hello, ", ',')]
    [InlineData("He said \"hi.", '.')]
    [InlineData(" Then left..", '.')]
    [InlineData("mith paid", null)]
    [InlineData("好的。", '.')]
    public void The_terminator_is_the_clauses_last_punctuation(string clause, char? expected) =>
        Assert.Equal(expected, EspeakPhonemizer.Terminator(clause));
}
