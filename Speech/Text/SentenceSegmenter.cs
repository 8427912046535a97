using System.Collections.Frozen;

namespace MitTts.Speech.Text;

/// <summary>Cuts text into sentences for sentence-by-sentence synthesis; the pieces concatenate back to the exact input.</summary>
/// <remarks>A sentence ends at . ! ? … (and ; or a newline pair) followed by whitespace, except after a known abbreviation
/// (Dr., etc., e.g., Sr.), an initial (J. Smith) or inside a number (3.14). A sentence longer than
/// <see cref="MaxSentenceLength"/> is cut further at clause punctuation (, ; :) so no piece keeps the engine waiting long.</remarks>
public static class SentenceSegmenter
{
    public const int MaxSentenceLength = 300;

    private static readonly FrozenSet<string> s_abbreviations = new[]
    {
        // English
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr",
        "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "no", "fig", "approx", "dept", "est", "mt", "u.s", "a.m", "p.m",
        // Spanish, Portuguese, Italian
        "sra", "srta", "dra", "ud", "uds", "lic", "ing", "pág", "núm", "aprox", "av", "avda", "sres", "dña", "d", "sig", "pp", "ej", "dott", "sig.ra",
        // French, German
        "mme", "mlle", "mm", "m", "env", "bzw", "usw", "z.b", "d.h", "ca", "nr", "str", "dipl", "hr", "fr",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>The sentences of <paramref name="text"/>, each with its trailing whitespace; blank text gives none.</summary>
    public static IReadOnlyList<string> Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sentences = new List<string>();
        var start = 0;
        var i = 0;
        while (i < text.Length)
        {
            if (IsSentenceEnd(text, i, out var end))
            {
                // Keep the whitespace after the terminator with this sentence, so the pieces join back exactly.
                while (end < text.Length && char.IsWhiteSpace(text[end]))
                {
                    end++;
                }

                AddCut(text, start, end, sentences);
                start = end;
                i = end;
                continue;
            }

            i++;
        }

        if (start < text.Length)
        {
            AddCut(text, start, text.Length, sentences);
        }

        return sentences;
    }

    private static bool IsSentenceEnd(string text, int i, out int end)
    {
        end = i + 1;
        var c = text[i];
        if (c == '\n' && end < text.Length && text[end] == '\n')
        {
            return true;
        }

        if (c is not ('.' or '!' or '?' or '…' or ';' or '。' or '！' or '？'))
        {
            return false;
        }

        // Runs of terminators and closing quotes or brackets belong to the sentence ("Really?!", "He left.").
        while (end < text.Length && (text[end] is '.' or '!' or '?' or '…' or '"' or '\'' or '»' or '”' or '’' or ')' or ']'))
        {
            end++;
        }

        if (end < text.Length && !char.IsWhiteSpace(text[end]))
        {
            return false; // 3.14, e.g., example.com, ¿Qué?¡Sí!
        }

        return c != '.' || !EndsWithAbbreviation(text, i);
    }

    private static bool EndsWithAbbreviation(string text, int dot)
    {
        var wordStart = dot;
        while (wordStart > 0 && (char.IsLetter(text[wordStart - 1]) || text[wordStart - 1] == '.'))
        {
            wordStart--;
        }

        var word = text.AsSpan(wordStart, dot - wordStart);
        if (word.IsEmpty)
        {
            return false;
        }

        // A single capital letter is an initial (J. R. Tolkien).
        if (word.Length == 1 && char.IsUpper(word[0]))
        {
            return true;
        }

        return s_abbreviations.Contains(word.ToString());
    }

    private static void AddCut(string text, int start, int end, List<string> sentences)
    {
        while (end - start > MaxSentenceLength)
        {
            var cut = ClauseCut(text, start, start + MaxSentenceLength);
            sentences.Add(text[start..cut]);
            start = cut;
        }

        if (end > start)
        {
            sentences.Add(text[start..end]);
        }
    }

    /// <summary>The last clause boundary (after , ; : and its whitespace) before <paramref name="limit"/>, else the last space, else the limit.</summary>
    private static int ClauseCut(string text, int start, int limit)
    {
        var minimum = start + (MaxSentenceLength / 4);
        for (var i = limit - 1; i > minimum; i--)
        {
            if (text[i] is ',' or ';' or ':' or '—' && char.IsWhiteSpace(text[i + 1]))
            {
                var end = i + 1;
                while (end < limit && char.IsWhiteSpace(text[end]))
                {
                    end++;
                }

                return end;
            }
        }

        for (var i = limit - 1; i > minimum; i--)
        {
            if (char.IsWhiteSpace(text[i]))
            {
                return i + 1;
            }
        }

        return char.IsLowSurrogate(text[limit]) ? limit + 1 : limit;
    }
}
