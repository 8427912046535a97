using System.Diagnostics;
using MitTts.Speech.Text;

namespace MitTts.Tests.Speech.Text;

public sealed class SentenceStreamTests
{
    private static List<string> Feed(string? language, IEnumerable<string> fragments)
    {
        var stream = new SentenceStream(language);
        var sentences = new List<string>();
        foreach (var fragment in fragments)
        {
            stream.Append(fragment, sentences);
        }

        if (stream.Flush() is { } rest)
        {
            sentences.Add(rest);
        }

        Assert.Equal(0, stream.BufferedLength);
        return sentences;
    }

    private static IEnumerable<string> Characters(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            yield return text[i].ToString();
        }
    }

    private static IEnumerable<string> Tokens(string text, Random random)
    {
        for (var i = 0; i < text.Length;)
        {
            var length = Math.Min(random.Next(1, 9), text.Length - i);
            yield return text.Substring(i, length);
            i += length;
        }
    }

    [Theory]
    [InlineData("en", "Dr. Smith arrived at 3.14 p.m. on Jan. 5. He left with Mr. J. Jones. So did I. The end.")]
    [InlineData("es", "¿Qué tal? ¡Muy bien! El Dr. Pérez llegó según la pág. 12. Se fue con la Sra. López. Adiós.")]
    [InlineData("de", "Dr. Müller kam z. B. am 5. Januar an. Dann ging Hr. Schmidt, d. h. er ging. Ende.")]
    [InlineData("en", "Visit https://example.com/Path?Q=A.B!C now. Mail name@example.com. Wait… what? Then… Silence. 日本語。次の文。最後です。")]
    [InlineData("nl", "Dhr. Jansen kwam, bijv. Dr. Bakker ook. Title\n\nThis is wrapped\nover lines. End.")]
    public void Character_by_character_gives_what_Split_gives(string language, string text)
    {
        Assert.Equal(SentenceSegmenter.Split(text, language), Feed(language, Characters(text)));
    }

    [Fact]
    public void Random_texts_in_random_tokens_give_what_Split_gives()
    {
        var random = new Random(7);
        foreach (var language in TextSamples.Languages)
        {
            for (var n = 0; n < 60; n++)
            {
                var text = TextSamples.EndingWithASentence(random, random.Next(1, 150));
                var expected = SentenceSegmenter.Split(text, language);

                Assert.Equal(expected, Feed(language, Tokens(text, random)));
                if (n % 10 == 0)
                {
                    Assert.Equal(expected, Feed(language, Characters(text)));
                }
            }
        }
    }

    [Fact]
    public void Everything_appended_comes_back_exactly_whatever_the_text()
    {
        var random = new Random(99);
        for (var n = 0; n < 200; n++)
        {
            var text = TextSamples.Random(random, random.Next(1, 200)) + "x";
            var pieces = Feed(TextSamples.Languages[n % TextSamples.Languages.Length], Tokens(text, random));

            Assert.Equal(text, string.Concat(pieces));
        }
    }

    [Fact]
    public void A_sentence_is_returned_only_once_the_next_word_settles_it()
    {
        var stream = new SentenceStream("en");
        var sentences = new List<string>();

        stream.Append("Hello there. Dr.", sentences);
        Assert.Equal(["Hello there. "], sentences);

        // "Dr. " could end a sentence or not: the next word decides, so nothing more is returned yet.
        stream.Append(" ", sentences);
        Assert.Single(sentences);
        Assert.Equal("Dr. ".Length, stream.BufferedLength);

        stream.Append("Smith arrived", sentences);
        stream.Append(". He", sentences);
        Assert.Single(sentences);
        stream.Append(" left.", sentences);
        Assert.Equal(["Hello there. ", "Dr. Smith arrived. "], sentences);
        Assert.Equal("He left.", stream.Flush());
        Assert.Null(stream.Flush());
    }

    [Fact]
    public void Flush_of_whitespace_is_null()
    {
        var stream = new SentenceStream(null);
        var sentences = new List<string>();
        stream.Append("  \n ", sentences);

        Assert.Empty(sentences);
        Assert.Null(stream.Flush());
        Assert.Equal(0, stream.BufferedLength);
    }

    [Fact]
    public void A_long_sentence_is_cut_while_it_streams_and_the_first_piece_is_short()
    {
        var text = "This opening sentence runs on, and on for a while, " + string.Join(", ", Enumerable.Repeat("a clause of several words", 60)) + ". End.";
        var stream = new SentenceStream("en");
        var sentences = new List<string>();
        var maxBuffered = 0;
        foreach (var token in Tokens(text, new Random(3)))
        {
            stream.Append(token, sentences);
            maxBuffered = Math.Max(maxBuffered, stream.BufferedLength);
        }

        // The short first piece is out as soon as its comma is followed by 120 characters of the same sentence.
        Assert.Equal("This opening sentence runs on, and on for a while, ", sentences[0]);
        Assert.True(sentences.Count > 4);
        Assert.All(sentences, s => Assert.True(s.Length <= SentenceSegmenter.MaxSentenceLength));
        Assert.InRange(maxBuffered, 0, SentenceSegmenter.MaxSentenceLength + 8);
        sentences.Add(stream.Flush()!);
        Assert.Equal(SentenceSegmenter.Split(text, "en"), sentences);
    }

    [Fact]
    public void Long_input_streams_in_linear_time()
    {
        var sentence = "Dr. Smith arrived at 3.14 p.m. on Jan. 5, and then, after a long while, he left again for home. ";
        var text = string.Concat(Enumerable.Repeat(sentence, 1500)) + string.Concat(Enumerable.Repeat("word ", 20_000)) + "End.";
        var stream = new SentenceStream("en");
        var sentences = new List<string>();
        var clock = Stopwatch.StartNew();
        var maxBuffered = 0;
        foreach (var token in Tokens(text, new Random(5)))
        {
            stream.Append(token, sentences);
            maxBuffered = Math.Max(maxBuffered, stream.BufferedLength);
        }

        sentences.Add(stream.Flush()!);

        // 250 000 characters: re-reading only the open sentence keeps the buffer, and so each append, small.
        Assert.InRange(maxBuffered, 0, SentenceSegmenter.MaxSentenceLength + 8);
        Assert.Equal(text, string.Concat(sentences));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }
}
