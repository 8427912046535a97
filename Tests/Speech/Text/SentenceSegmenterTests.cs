using MitTts.Speech.Text;

namespace MitTts.Tests.Speech.Text;

public sealed class SentenceSegmenterTests
{
    [Theory]
    [InlineData("Hello there. How are you? Fine!", new[] { "Hello there. ", "How are you? ", "Fine!" })]
    [InlineData("Dr. Smith arrived at 3.14 p.m. today. Then he left.", new[] { "Dr. Smith arrived at 3.14 p.m. today. ", "Then he left." })]
    [InlineData("Bring fruit, e.g. apples, etc. and more. Done.", new[] { "Bring fruit, e.g. apples, etc. and more. ", "Done." })]
    [InlineData("Visit https://example.com/a.b?x=1 now. Ok.", new[] { "Visit https://example.com/a.b?x=1 now. ", "Ok." })]
    [InlineData("J. R. R. Tolkien wrote it. Yes.", new[] { "J. R. R. Tolkien wrote it. ", "Yes." })]
    [InlineData("¿Qué tal? ¡Muy bien! La Sra. García llegó.", new[] { "¿Qué tal? ", "¡Muy bien! ", "La Sra. García llegó." })]
    [InlineData("He said \"stop.\" Then silence.", new[] { "He said \"stop.\" ", "Then silence." })]
    [InlineData("No terminator at all", new[] { "No terminator at all" })]
    public void Sentences_end_where_a_reader_would_end_them(string text, string[] expected)
    {
        Assert.Equal(expected, SentenceSegmenter.Split(text));
    }

    [Theory]
    [InlineData("Hello there. How are you? Fine!")]
    [InlineData("Dr. Smith arrived at 3.14 p.m. on Jan. 5. He left with Mr. J. Jones. So did I. The end.")]
    [InlineData("Bring fruit, e.g. apples, etc. and more. Done.")]
    [InlineData("Visit https://example.com/a.b?x=1 now. Mail name@example.com. Ok.")]
    [InlineData("¿Qué tal? ¡Muy bien! La Sra. García llegó. Wait… what? Then… Silence.")]
    [InlineData("He said \"stop.\" Then silence. 日本語の文です。次の文です！")]
    public void Without_icu_the_rules_cut_plain_text_the_same_way(string text)
    {
        Assert.Equal(SentenceSegmenter.Split(text), SentenceSegmenter.Split(text, null, useIcu: false));
    }

    [Fact]
    public void Without_icu_random_texts_still_join_back_exactly()
    {
        var random = new Random(11);
        for (var n = 0; n < 300; n++)
        {
            var text = TextSamples.Random(random, random.Next(1, 300));

            var pieces = SentenceSegmenter.Split(text, TextSamples.Languages[n % TextSamples.Languages.Length], useIcu: false);

            Assert.Equal(text, string.Concat(pieces));
            Assert.All(pieces, p => Assert.InRange(p.Length, 1, SentenceSegmenter.MaxSentenceLength + 1));
        }
    }

    [Theory]
    [InlineData("en", "Dr. Smith arrived at 3.14 p.m. on Jan. 5. He left with Mr. J. Jones. So did I. The end.",
        new[] { "Dr. Smith arrived at 3.14 p.m. on Jan. 5. ", "He left with Mr. J. Jones. ", "So did I. ", "The end." })]
    [InlineData("es", "El Dr. Pérez llegó a las 3.14, según la pág. 12. Se fue con la Sra. López y Ud. Martínez. Adiós.",
        new[] { "El Dr. Pérez llegó a las 3.14, según la pág. 12. ", "Se fue con la Sra. López y Ud. Martínez. ", "Adiós." })]
    [InlineData("fr", "M. Dupont est arrivé à 3,14 h, cf. p. 5. Mme Durand et le Dr. Martin sont partis. Fin.",
        new[] { "M. Dupont est arrivé à 3,14 h, cf. p. 5. ", "Mme Durand et le Dr. Martin sont partis. ", "Fin." })]
    [InlineData("de", "Dr. Müller kam z. B. am 5. Januar um 3,14 Uhr an. Dann ging Hr. Schmidt, d. h. er ging. Siehe Nr. 7. Ende.",
        new[] { "Dr. Müller kam z. B. am 5. Januar um 3,14 Uhr an. ", "Dann ging Hr. Schmidt, d. h. er ging. ", "Siehe Nr. 7. ", "Ende." })]
    [InlineData("it", "Il Sig. Rossi e il Dott. Bianchi sono arrivati alle 3,14, v. pag. 5. Poi sono andati via. Fine.",
        new[] { "Il Sig. Rossi e il Dott. Bianchi sono arrivati alle 3,14, v. pag. 5. ", "Poi sono andati via. ", "Fine." })]
    [InlineData("pt", "O Sr. Silva e a Dra. Costa chegaram às 3,14, pág. 5. Depois saíram. Fim.",
        new[] { "O Sr. Silva e a Dra. Costa chegaram às 3,14, pág. 5. ", "Depois saíram. ", "Fim." })]
    [InlineData("nl", "Dhr. Jansen en Mevr. Smit kwamen om 3,14 uur, bijv. Dr. Bakker ook. Daarna gingen ze weg. Einde.",
        new[] { "Dhr. Jansen en Mevr. Smit kwamen om 3,14 uur, bijv. Dr. Bakker ook. ", "Daarna gingen ze weg. ", "Einde." })]
    [InlineData("ca", "El Sr. Puig i la Dra. Vila van arribar a les 3,14, pàg. 5. Després van marxar. Fi.",
        new[] { "El Sr. Puig i la Dra. Vila van arribar a les 3,14, pàg. 5. ", "Després van marxar. ", "Fi." })]
    public void Abbreviations_numbers_and_initials_of_each_language_end_no_sentence(string language, string text, string[] expected)
    {
        Assert.Equal(expected, SentenceSegmenter.Split(text, language));
    }

    [Theory]
    [InlineData("Visit https://example.com/a.b?c=d now. Also www.example.org. Mail name@example.com. Done.",
        new[] { "Visit https://example.com/a.b?c=d now. ", "Also www.example.org. ", "Mail name@example.com. ", "Done." })]
    [InlineData("See https://example.com/Path?Q=A.B!C now. And (http://x.org/?A=B) too. Ok.",
        new[] { "See https://example.com/Path?Q=A.B!C now. ", "And (http://x.org/?A=B) too. ", "Ok." })]
    [InlineData("Pi is 3.14 and a price is 1.000,50 euros. Also 1,000.50 dollars. End.",
        new[] { "Pi is 3.14 and a price is 1.000,50 euros. ", "Also 1,000.50 dollars. ", "End." })]
    [InlineData("He said \"stop.\" Then silence. (It was late.) Next [done!] Yes.",
        new[] { "He said \"stop.\" ", "Then silence. ", "(It was late.) ", "Next [done!] ", "Yes." })]
    [InlineData("Wait… what happened? I don't know... maybe nothing. Then… Silence.",
        new[] { "Wait… what happened? ", "I don't know... maybe nothing. ", "Then… ", "Silence." })]
    [InlineData("日本語の文です。次の文です！最後？", new[] { "日本語の文です。", "次の文です！", "最後？" })]
    [InlineData("Title\n\nThis sentence is wrapped\nacross two lines. Next.\n\nLast.",
        new[] { "Title\n\n", "This sentence is wrapped\nacross two lines. ", "Next.\n\n", "Last." })]
    public void Urls_numbers_quotes_ellipses_cjk_and_paragraphs(string text, string[] expected)
    {
        Assert.Equal(expected, SentenceSegmenter.Split(text));
    }

    [Fact]
    public void Spanish_opening_marks_start_sentences()
    {
        Assert.Equal(["¿Cómo está Ud.? ", "¡Muy bien, gracias! ", "«Claro.» ", "Adiós."], SentenceSegmenter.Split("¿Cómo está Ud.? ¡Muy bien, gracias! «Claro.» Adiós.", "es"));
    }

    [Fact]
    public void Pieces_join_back_to_the_exact_text()
    {
        const string text = "  One.  Two?\n\nThree… four; five! Dr. Who, etc. 1.5 km.  ";

        Assert.Equal(text, string.Concat(SentenceSegmenter.Split(text)));
    }

    [Fact]
    public void Random_texts_join_back_exactly_and_stay_under_the_limits()
    {
        var random = new Random(20240229);
        foreach (var language in TextSamples.Languages)
        {
            for (var n = 0; n < 150; n++)
            {
                var text = TextSamples.Random(random, random.Next(1, 400));
                var pieces = SentenceSegmenter.Split(text, language);

                Assert.Equal(text, string.Concat(pieces));
                Assert.All(pieces, p => Assert.InRange(p.Length, 1, SentenceSegmenter.MaxSentenceLength + 1));
                Assert.True(pieces.Count == 0 || pieces[0].Length <= SentenceSegmenter.MaxFirstSentenceLength || !HasFirstCut(pieces[0]), $"first piece {pieces[0].Length} chars: {pieces[0]}");
                if (!string.IsNullOrWhiteSpace(text))
                {
                    Assert.All(pieces, p => Assert.False(string.IsNullOrWhiteSpace(p), $"blank piece in {text}"));
                }
            }
        }

        // A first piece over the short limit is allowed only when it had no clause punctuation to cut at.
        static bool HasFirstCut(string piece) => SentenceSegmenter.FirstClauseCut(piece, 0) > 0;
    }

    [Fact]
    public void An_over_long_sentence_is_cut_at_clause_boundaries()
    {
        var text = string.Join(", ", Enumerable.Repeat("a clause of several words", 40)) + ".";

        var pieces = SentenceSegmenter.Split(text);

        Assert.True(pieces.Count > 1);
        Assert.All(pieces, p => Assert.True(p.Length <= SentenceSegmenter.MaxSentenceLength, $"{p.Length} characters"));
        Assert.All(pieces.SkipLast(1), p => Assert.EndsWith(", ", p, StringComparison.Ordinal));
        Assert.Equal(text, string.Concat(pieces));
    }

    [Fact]
    public void A_long_run_without_punctuation_is_cut_at_spaces_and_nothing_is_lost()
    {
        var text = string.Concat(Enumerable.Repeat("word ", 200)) + new string('x', 700);

        var pieces = SentenceSegmenter.Split(text);

        Assert.All(pieces, p => Assert.True(p.Length <= SentenceSegmenter.MaxSentenceLength));
        Assert.Equal(text, string.Concat(pieces));
    }

    [Fact]
    public void A_long_first_sentence_is_cut_at_its_first_clause_after_forty_characters()
    {
        const string first = "This opening sentence runs on, and on for a while, ";
        const string rest = "then keeps going with many more words until it is far past the short limit for first audio. Short one.";

        var pieces = SentenceSegmenter.Split(first + rest);

        // The comma at 29 is too early; the next one, at 49, gives the first piece.
        Assert.Equal("This opening sentence runs on, and on for a while, ", pieces[0]);
        Assert.Equal("then keeps going with many more words until it is far past the short limit for first audio. ", pieces[1]);
        Assert.Equal("Short one.", pieces[2]);
    }

    [Fact]
    public void A_long_first_sentence_without_a_clause_in_reach_stays_whole()
    {
        var text = "Short start, " + string.Join(' ', Enumerable.Repeat("word", 40)) + ". Next one, also long enough to matter here, " + string.Join(' ', Enumerable.Repeat("word", 30)) + ".";

        var pieces = SentenceSegmenter.Split(text);

        Assert.Equal(2, pieces.Count);
        Assert.True(pieces[0].Length > SentenceSegmenter.MaxFirstSentenceLength);
        // Only the first sentence of a text is cut short; later ones wait for the 300 limit.
        Assert.StartsWith("Next one, also long", pieces[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Blank_text_has_no_sentences()
    {
        Assert.Empty(SentenceSegmenter.Split(string.Empty));
    }

    [Fact]
    public void Icu_is_in_use_on_this_machine()
    {
        // .NET itself needs libicu on Linux, so a machine that runs the tests has it: the fallback rules must not be what we test.
        Assert.True(SentenceSegmenter.UsesIcu);
    }
}
