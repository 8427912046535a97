using System.Text;

namespace MitTts.Speech.Engines.Onnx;

/// <summary>Word times for engines whose models give none (Piper, Kokoro): each word of the text is placed where its phonemes fall
/// in its sentence's audio, as if every phoneme took as long; where espeak-ng's words and the text's do not pair one to one (a number
/// read as several words, words it runs together), by the share of the text's characters before the word.</summary>
internal static class EstimatedWords
{
    /// <summary>One phonemized sentence: its phonemes (IPA, words separated by spaces) and where its audio lies in the request's PCM.
    /// A phoneme's position is (<paramref name="LeadUnits"/> + <paramref name="UnitsPerPhoneme"/> · index) / <paramref name="TotalUnits"/>
    /// of the sentence's audio (Piper: ids <c>^ _</c>, then each phoneme and a pad; Kokoro: a pad token, then one token each).</summary>
    public readonly record struct Spoken(string Phonemes, long StartSample, long Samples, int LeadUnits, int UnitsPerPhoneme, int TotalUnits);

    /// <summary>Reports the words of <paramref name="text"/> to <paramref name="sink"/>, in order, with their estimated first samples.</summary>
    public static void Report(IWordSink sink, string text, IReadOnlyList<Spoken> sentences)
    {
        var words = TextWords(text);
        if (words.Count == 0 || sentences.Count == 0)
        {
            return;
        }

        var starts = new List<long>(words.Count);
        long total = 0;
        foreach (var sentence in sentences)
        {
            total += sentence.Samples;
            var index = 0;
            var inWord = false;
            foreach (var rune in sentence.Phonemes.EnumerateRunes())
            {
                var letter = Rune.IsLetter(rune) || rune.Value is 'ˈ' or 'ˌ';
                if (letter && !inWord && sentence.TotalUnits > 0)
                {
                    starts.Add(sentence.StartSample + (long)(sentence.Samples * (double)(sentence.LeadUnits + (sentence.UnitsPerPhoneme * index)) / sentence.TotalUnits));
                }

                inWord = rune.Value != ' ' && (inWord || letter);
                index++;
            }
        }

        var paired = starts.Count == words.Count;
        for (var i = 0; i < words.Count; i++)
        {
            var (offset, length) = words[i];
            var start = paired ? starts[i] : sentences[0].StartSample + (long)(total * (double)offset / text.Length);
            sink.Word(offset, length, start);
        }
    }

    /// <summary>The text's words: runs without whitespace, less the punctuation around them; runs of punctuation alone are no word.</summary>
    private static List<(int Offset, int Length)> TextWords(string text)
    {
        var words = new List<(int, int)>();
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            var start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            var end = i;
            while (start < end && !char.IsLetterOrDigit(text[start]))
            {
                start++;
            }

            while (end > start && !char.IsLetterOrDigit(text[end - 1]))
            {
                end--;
            }

            if (end > start)
            {
                words.Add((start, end - start));
            }
        }

        return words;
    }
}
