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

    [Fact]
    public void Pieces_join_back_to_the_exact_text()
    {
        const string text = "  One.  Two?\n\nThree… four; five! Dr. Who, etc. 1.5 km.  ";

        Assert.Equal(text, string.Concat(SentenceSegmenter.Split(text)));
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
    public void Blank_text_has_no_sentences()
    {
        Assert.Empty(SentenceSegmenter.Split(string.Empty));
    }
}
