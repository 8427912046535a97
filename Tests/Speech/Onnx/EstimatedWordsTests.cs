using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Onnx;

namespace MitTts.Tests.Speech.Onnx;

public sealed class EstimatedWordsTests
{
    private sealed class Words : IWordSink
    {
        public List<(string Word, long Sample)> Heard { get; } = [];

        public string Text { get; init; } = string.Empty;

        public void Word(int textOffset, int textLength, long sampleOffset) => Heard.Add((Text.Substring(textOffset, textLength), sampleOffset));
    }

    [Fact]
    public void Words_that_pair_with_espeaks_are_placed_at_their_first_phoneme()
    {
        const string text = "Hello, big world!";
        var sink = new Words { Text = text };

        // "həlˈoʊ, bˈɪɡ wˈɜːld!": 20 phonemes, Piper ids 2 + 2 per phoneme + 1 = 43, 4300 samples.
        EstimatedWords.Report(sink, text, [new EstimatedWords.Spoken("həlˈoʊ, bˈɪɡ wˈɜːld!", 1000, 4300, 2, 2, 43)]);

        Assert.Equal([("Hello", 1000 + 200), ("big", 1000 + 1800), ("world", 1000 + 2800)], sink.Heard);
    }

    [Fact]
    public void Words_that_do_not_pair_are_placed_by_the_characters_before_them()
    {
        const string text = "I have 32 cats.";
        var sink = new Words { Text = text };

        // espeak-ng reads 32 as two words: five words against the text's four.
        EstimatedWords.Report(sink, text, [new EstimatedWords.Spoken("aɪ hˈav θˈɜːti tˈuː kˈats.", 0, 1500, 1, 1, 30)]);

        Assert.Equal([("I", 0L), ("have", 200L), ("32", 700L), ("cats", 1000L)], sink.Heard);
    }
}
