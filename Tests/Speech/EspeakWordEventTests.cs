using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Espeak;
using MitTts.Tests.Support;

namespace MitTts.Tests.Speech;

public sealed class EspeakWordEventTests
{
    private readonly EspeakEngine _engine = new();

    private async Task<WordSink> Say(string text, string voice)
    {
        var sink = new WordSink();
        await _engine.SynthesizeAsync(new SpeechRequest(text, voice), sink);
        return sink;
    }

    [Theory]
    [InlineData("Mr. and Mrs. Jones went out a lot today.", "en-us", new[] { "Mr", "and", "Mrs", "Jones", "went", "out", "a", "lot", "today" })]
    [InlineData("Quedamos a las 3.30 p. m. con 2.500 euros.", "es", new[] { "Quedamos", "a", "las", "3.30", "p", "m", "con", "2.500", "euros" })]
    [InlineData("Sr. García llegó a las 9 a. m. ayer.", "es", new[] { "Sr", "García", "llegó", "a", "las", "9", "a", "m", "ayer" })]
    [InlineData("We paid 1,500 dollars at 10:30 today.", "en-us", new[] { "We", "paid", "1,500", "dollars", "at", "10:30", "today" })]
    // espeak-ng says "of the" as one word and reported "of" alone: the second "the" was missing.
    [InlineData("Before the end of the month, on a day of the week.", "en-us", new[] { "Before", "the", "end", "of", "the", "month", "on", "a", "day", "of", "the", "week" })]
    public async Task Every_word_is_reported_once_after_abbreviations_and_numbers_are_one_word(string text, string voice, string[] words)
    {
        // After an abbreviation espeak-ng points its next word's event at the space before it; a number it reads as several words
        // reports its parts ("3." and "30"). Neither may lose a word or split one for a client cutting its transcript.
        var sink = await Say(text, voice);

        Assert.Equal(words, sink.Words.Select(w => text.Substring(w.Offset, w.Length)));
        for (var i = 1; i < sink.Words.Count; i++)
        {
            Assert.True(sink.Words[i].Sample >= sink.Words[i - 1].Sample, $"word {i} at sample {sink.Words[i].Sample}");
        }
    }

    [Fact]
    public async Task Words_arrive_in_order_pointing_at_the_text_and_into_the_pcm()
    {
        const string text = "Hello world, this is a test.";

        var sink = await Say(text, "en-us");

        Assert.Equal(["Hello", "world", "this", "is", "a", "test"], sink.Words.Select(w => text.Substring(w.Offset, w.Length)));
        Assert.Equal([0, 6, 13, 18, 21, 23], sink.Words.Select(w => w.Offset));
        for (var i = 1; i < sink.Words.Count; i++)
        {
            Assert.True(sink.Words[i].Sample > sink.Words[i - 1].Sample, $"word {i} at sample {sink.Words[i].Sample}");
        }

        Assert.All(sink.Words, w => Assert.InRange(w.Sample, 0, sink.SampleCount - 1));
        // Each word was reported before the buffer holding its first sample was written.
        Assert.All(sink.Words, w => Assert.True(w.Sample >= w.SamplesWrittenBefore, $"word at {w.Sample} came after {w.SamplesWrittenBefore} samples"));
    }

    [Fact]
    public async Task A_word_after_a_pause_starts_where_the_pause_ends()
    {
        // The comma makes espeak-ng pause; "this" must start at the end of that silence, which checks that the event's
        // sample counts from the start of the request (not the buffer, nor the process) and is in samples, not ms.
        const string text = "Hello world, this is a test.";

        var sink = await Say(text, "en-us");
        var (pauseStart, pauseEnd) = LongestQuietRun(sink.Samples, 0, sink.Samples.Length * 3 / 4);
        var after = sink.Words.Single(w => text.Substring(w.Offset, w.Length) == "this");
        var before = sink.Words.Single(w => text.Substring(w.Offset, w.Length) == "world");

        Assert.True(pauseEnd - pauseStart > 0.1 * _engine.SampleRate, $"pause {pauseStart}..{pauseEnd}");
        Assert.InRange(after.Sample, pauseEnd - (0.05 * _engine.SampleRate), pauseEnd + (0.05 * _engine.SampleRate));
        Assert.True(before.Sample < pauseStart);
    }

    [Theory]
    [InlineData("Café déjà vu, naïve résumé. 😀 smile 𝒳 wow. Über 日本 end.", "en", new[] { "Café", "déjà", "naïve", "résumé", "😀", "smile", "𝒳", "wow", "Über", "end" })]
    [InlineData("¿Qué tal? ¡Muy bien! Año 2024, señor Núñez.", "es", new[] { "Qué", "tal", "Muy", "bien", "Año", "2024", "señor", "Núñez" })]
    [InlineData("e\u0301te\u0301 \U0001F600\U0001F600 tab\there\r\nnext", "fr", new[] { "e\u0301te\u0301", "tab", "here", "next" })]
    public async Task Offsets_are_utf16_even_after_accents_surrogate_pairs_and_emoji(string text, string voice, string[] mustInclude)
    {
        var sink = await Say(text, voice);
        var words = sink.Words.Select(w => (w.Offset, Word: text.Substring(w.Offset, w.Length))).ToList();

        // espeak-ng counts code points: a surrogate pair is one, so a wrong mapping would shift every later word.
        foreach (var expected in mustInclude)
        {
            Assert.Contains((text.IndexOf(expected, StringComparison.Ordinal), expected), words);
        }

        for (var i = 1; i < sink.Words.Count; i++)
        {
            Assert.True(sink.Words[i].Offset >= sink.Words[i - 1].Offset + sink.Words[i - 1].Length, $"word {i} overlaps the one before");
        }

        Assert.All(words, w => Assert.False(string.IsNullOrWhiteSpace(w.Word)));
    }

    [Theory]
    [InlineData("It's the co-op's well-known X-ray, isn't it?", "en-us", new[] { "It's", "co-op's", "well-known", "X-ray", "isn't", "it" })]
    [InlineData("Use e.g. this on the 29th, or 3.14 in the U.S.A. now.", "en-us", new[] { "Use", "e.g", "this", "29th", "3.14", "U.S.A", "now" })]
    [InlineData("L'homme d'affaires arrive aujourd'hui.", "fr", new[] { "L'homme", "d'affaires", "arrive", "aujourd'hui" })]
    public async Task A_word_is_the_whole_source_word_through_apostrophes_hyphens_inner_dots_and_suffixes(string text, string voice, string[] mustInclude)
    {
        var sink = await Say(text, voice);
        var words = sink.Words.Select(w => text.Substring(w.Offset, w.Length)).ToList();

        foreach (var expected in mustInclude)
        {
            Assert.Contains(expected, words);
        }

        Assert.All(words, w => Assert.False(w.EndsWith(',') || w.EndsWith('?') || w.StartsWith('\''), w));
    }

    [Fact]
    public async Task A_sink_that_does_not_want_words_gets_the_same_audio()
    {
        const string text = "Hello world, this is a test.";
        var plain = new CollectingSink();
        await _engine.SynthesizeAsync(new SpeechRequest(text, "en-us"), plain);
        var withWords = await Say(text, "en-us");

        // espeak-ng's prosody drifts by a few ms between calls (see EspeakEngineTests), so compare shape and length.
        Assert.InRange((double)plain.Samples.Length / withWords.SampleCount, 0.97, 1.03);
        Assert.True(Pcm.EnvelopeCorrelation(plain.Samples, withWords.Samples, _engine.SampleRate, frameMs: 100) > 0.8);
    }

    [Fact]
    public async Task Cancellation_still_stops_the_engine_and_no_word_comes_after_it()
    {
        using var cancellation = new CancellationTokenSource();
        var sink = new WordSink(cancellation, cancelAfterBuffers: 30);
        var longText = string.Join(' ', Enumerable.Repeat("Hello world, this is a test.", 40));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _engine.SynthesizeAsync(new SpeechRequest(longText, "en-us"), sink, cancellation.Token));

        Assert.Equal(30, sink.Buffers);
        Assert.NotEmpty(sink.Words);
        Assert.All(sink.Words, w => Assert.True(w.Sample < sink.SampleCount));
        Assert.NotEmpty((await Say("Still here.", "en-us")).Words);
    }

    [Fact]
    public async Task A_word_sink_that_throws_fails_the_call_and_the_engine_goes_on()
    {
        var sink = new WordSink(throwOnWord: true);

        await Assert.ThrowsAsync<InvalidOperationException>(() => _engine.SynthesizeAsync(new SpeechRequest("Hello world.", "en-us"), sink));

        Assert.NotEmpty((await Say("Still here.", "en-us")).Words);
    }

    /// <summary>The longest run of near-silent 10 ms frames within [from, to), in samples.</summary>
    private static (int Start, int End) LongestQuietRun(short[] pcm, int from, int to)
    {
        const int Frame = 220;
        var best = (Start: 0, End: 0);
        var runStart = -1;
        for (var f = from; f + Frame <= to; f += Frame)
        {
            var peak = 0;
            for (var i = f; i < f + Frame; i++)
            {
                peak = Math.Max(peak, Math.Abs((int)pcm[i]));
            }

            if (peak < 300)
            {
                runStart = runStart < 0 ? f : runStart;
                if (f + Frame - runStart > best.End - best.Start)
                {
                    best = (runStart, f + Frame);
                }
            }
            else
            {
                runStart = -1;
            }
        }

        return best;
    }

    private sealed class WordSink(CancellationTokenSource? cancellation = null, int cancelAfterBuffers = 0, bool throwOnWord = false) : IPcmSink, IWordSink
    {
        private readonly List<short> _samples = [];

        public List<(int Offset, int Length, long Sample, long SamplesWrittenBefore)> Words { get; } = [];

        public int Buffers { get; private set; }

        public long SampleCount => _samples.Count;

        public short[] Samples => [.. _samples];

        public void Write(ReadOnlySpan<short> samples)
        {
            foreach (var s in samples)
            {
                _samples.Add(s);
            }

            if (++Buffers == cancelAfterBuffers)
            {
                cancellation!.Cancel();
            }
        }

        public void Word(int textOffset, int textLength, long sampleOffset)
        {
            if (throwOnWord)
            {
                throw new InvalidOperationException("sink refused the word");
            }

            Words.Add((textOffset, textLength, sampleOffset, _samples.Count));
        }
    }
}
