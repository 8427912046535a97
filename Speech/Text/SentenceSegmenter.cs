namespace MitTts.Speech.Text;

/// <summary>Cuts text into sentences for sentence-by-sentence synthesis; the pieces concatenate back to the exact input.</summary>
/// <remarks>Sentence ends come from ICU's sentence break iterator (Unicode UAX #29, with CLDR's abbreviation suppressions for
/// the language), or from simple punctuation rules when ICU is missing (<see cref="UsesIcu"/>). On top of either, a period
/// ends no sentence after a known abbreviation of the language (Dr., Sra., z. B., bijv.), an initial (J. R. R. Tolkien), a
/// "No."-like word before a number, or a German ordinal before a month (5. Januar); no sentence ends inside a URL or e-mail
/// address, nor at a line break inside a running sentence (the next line starts in lower case); an ellipsis (…) followed by a
/// capital does end one. A sentence longer than <see cref="MaxSentenceLength"/> is cut further at clause punctuation
/// (, ; : —, else at a space). The first piece of a text is kept short for fast first audio: when the first sentence is
/// longer than <see cref="MaxFirstSentenceLength"/>, it is cut after the first clause punctuation (, ; : —) that lies at least
/// <see cref="FirstCutMinimum"/> characters in and leaves a first piece of at most <see cref="MaxFirstSentenceLength"/>, if there is one.</remarks>
public static class SentenceSegmenter
{
    /// <summary>No piece is longer (but for a surrogate pair at the cut): longer sentences are cut at clause punctuation, else at a space.</summary>
    public const int MaxSentenceLength = 300;

    /// <summary>A first sentence longer than this is cut after its first clause punctuation at or after <see cref="FirstCutMinimum"/>
    /// characters, when that cut leaves a first piece of at most this length; otherwise it stays whole (up to <see cref="MaxSentenceLength"/>).</summary>
    public const int MaxFirstSentenceLength = 120;

    /// <summary>How far into a long first sentence its early cut may fall at the soonest, so the first piece is not a fragment.</summary>
    public const int FirstCutMinimum = 40;

    /// <summary>Whether ICU's sentence break iterator was found on this machine; when false, simple punctuation rules are used.</summary>
    public static bool UsesIcu => IcuSentenceBreaks.Available;

    /// <summary>The sentences of <paramref name="text"/>, each with its trailing whitespace; blank text gives none.</summary>
    /// <param name="text">The text to cut.</param>
    /// <param name="language">ISO 639-1 code of the text's language ("es", "pt-BR"); null for English rules.</param>
    public static IReadOnlyList<string> Split(string text, string? language = null) => Split(text, language, useIcu: true);

    /// <summary><see cref="Split(string, string?)"/>, with the fallback rules when <paramref name="useIcu"/> is false (for tests).</summary>
    internal static IReadOnlyList<string> Split(string text, string? language, bool useIcu)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sentences = new List<string>();
        if (text.Length == 0)
        {
            return sentences;
        }

        var ends = new List<int>();
        FindEnds(text, language, ends, useIcu);
        var start = 0;
        foreach (var end in ends)
        {
            AddPieces(text, start, end, start == 0, sentences);
            start = end;
        }

        return sentences;
    }

    /// <summary>Adds to <paramref name="ends"/> the end (exclusive) of each sentence of <paramref name="text"/>, the last being its length.</summary>
    /// <remarks>Every sentence holds some non-whitespace; whitespace at the start of the text goes with the first sentence.</remarks>
    internal static void FindEnds(string text, string? language, List<int> ends, bool useIcu = true)
    {
        var code = Abbreviations.Normalize(language);
        var abbreviations = Abbreviations.For(code);
        var candidates = new List<int>();
        if (!useIcu || !IcuSentenceBreaks.TryFindEnds(text, IsPlainCode(code) ? code : "en", candidates))
        {
            candidates.Clear();
            RuleEnds(text, candidates);
        }

        AddEllipsisEnds(text, candidates);
        var start = 0;
        foreach (var end in candidates)
        {
            if (end <= start)
            {
                continue;
            }

            if (end < text.Length && !EndsSentence(text, start, end, code, abbreviations))
            {
                continue;
            }

            if (IsBlank(text, start, end))
            {
                // Whitespace alone is no sentence: it joins the sentence before it, or the first one.
                if (ends.Count > 0)
                {
                    ends[^1] = end;
                    start = end;
                }

                continue;
            }

            ends.Add(end);
            start = end;
        }

        if (start < text.Length)
        {
            ends.Add(text.Length);
        }
    }

    /// <summary>Adds <c>text[start..end]</c> to <paramref name="output"/>, cut so no piece is over the limits.</summary>
    internal static void AddPieces(string text, int start, int end, bool first, ICollection<string> output)
    {
        if (first && end - start > MaxFirstSentenceLength)
        {
            var cut = FirstClauseCut(text, start);
            if (cut > start)
            {
                output.Add(text[start..cut]);
                start = cut;
            }
        }

        while (end - start > MaxSentenceLength)
        {
            var cut = ClauseCut(text, start, start + MaxSentenceLength);
            output.Add(text[start..cut]);
            start = cut;
        }

        if (end > start)
        {
            output.Add(text[start..end]);
        }
    }

    /// <summary>Where the first piece of a text ends: after the first clause punctuation at least <see cref="FirstCutMinimum"/>
    /// characters in, with its whitespace, within <see cref="MaxFirstSentenceLength"/>; <paramref name="start"/> when there is none.</summary>
    /// <remarks>Reads text only up to start + <see cref="MaxFirstSentenceLength"/>, so a stream can decide it before the sentence ends.</remarks>
    internal static int FirstClauseCut(string text, int start)
    {
        var limit = start + MaxFirstSentenceLength;
        for (var i = start + FirstCutMinimum; i < limit - 1; i++)
        {
            if (IsClausePunctuation(text[i]) && char.IsWhiteSpace(text[i + 1]))
            {
                var end = i + 1;
                while (end < limit && char.IsWhiteSpace(text[end]))
                {
                    end++;
                }

                return end;
            }
        }

        return start;
    }

    /// <summary>The last clause boundary (after , ; : — and its whitespace) before <paramref name="limit"/>, else the last space, else the limit.</summary>
    /// <remarks>Reads text only up to <paramref name="limit"/> (inclusive), so a stream can decide it before the sentence ends.</remarks>
    internal static int ClauseCut(string text, int start, int limit)
    {
        var minimum = start + (MaxSentenceLength / 4);
        for (var i = limit - 1; i > minimum; i--)
        {
            if (IsClausePunctuation(text[i]) && char.IsWhiteSpace(text[i + 1]))
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

        // Never split a surrogate pair; the pair's low half is read only when the limit points at it.
        return char.IsLowSurrogate(text[limit]) ? limit + 1 : limit;
    }

    private static bool IsClausePunctuation(char c) => c is ',' or ';' or ':' or '—' or '、' or '，' or '；' or '：';

    /// <summary>Whether ICU's (or the rules') sentence end at <paramref name="end"/> stands, given what precedes and follows it.</summary>
    private static bool EndsSentence(string text, int start, int end, string language, Abbreviations abbreviations)
    {
        if (!char.IsWhiteSpace(text[end - 1]))
        {
            // An end with no space at it ("a.b?c=d", "¿Qué?¡Sí!") stands unless it is inside a URL or e-mail address.
            return !IsInUrlOrEmail(text, start, end);
        }

        var last = end - 1;
        var lineBreaks = 0;
        while (last >= start && char.IsWhiteSpace(text[last]))
        {
            lineBreaks += text[last] is '\n' or '\u2029' or '\u0085' or '\u2028' ? 1 : 0;
            last--;
        }

        if (last < start)
        {
            return true; // Whitespace only: FindEnds joins it to a neighbour.
        }

        var terminator = last;
        while (terminator > start && IsCloser(text[terminator]))
        {
            terminator--;
        }

        if (!IsTerminator(text[terminator]))
        {
            // ICU ends a sentence at every line break; a line that runs on in lower case is a wrapped sentence.
            return lineBreaks != 1 || !NextLetterIsLower(text, end);
        }

        if (text[terminator] == '…' || (text[terminator] == '.' && terminator > start && text[terminator - 1] == '.'))
        {
            return !NextLetterIsLower(text, end); // An ellipsis inside a sentence ("Wait… what?") ends nothing.
        }

        if (text[terminator] != '.' || terminator != last || lineBreaks > 1)
        {
            return true; // ? ! 。, a closing quote after the period, or a paragraph: ICU's call stands.
        }

        var wordStart = terminator;
        while (wordStart > start && (char.IsLetter(text[wordStart - 1]) || text[wordStart - 1] is '.' or '-'))
        {
            wordStart--;
        }

        var word = text.AsSpan(wordStart, terminator - wordStart);
        if (word.IsEmpty)
        {
            return !IsOrdinalDate(text, start, terminator, end, abbreviations);
        }

        if (IsInitials(word) && !abbreviations.IsNotInitial(word))
        {
            return false;
        }

        if (abbreviations.IsAlways(word))
        {
            return false;
        }

        return !(abbreviations.IsBeforeDigit(word) && char.IsDigit(text[end]));
    }

    /// <summary>A German-style ordinal before a month (am 5. Januar): one to three digits, a period, then a month name.</summary>
    private static bool IsOrdinalDate(string text, int start, int period, int end, Abbreviations abbreviations)
    {
        var digits = period;
        while (digits > start && char.IsAsciiDigit(text[digits - 1]))
        {
            digits--;
        }

        if (period - digits is < 1 or > 3 || (digits > start && !char.IsWhiteSpace(text[digits - 1])))
        {
            return false;
        }

        var wordEnd = end;
        while (wordEnd < text.Length && char.IsLetter(text[wordEnd]))
        {
            wordEnd++;
        }

        return wordEnd > end && abbreviations.IsOrdinalMonth(text.AsSpan(end, wordEnd - end));
    }

    /// <summary>One letter (J, the z of z. B.), or capitals each followed by a period (U.S, J.R.R; not p.m).</summary>
    private static bool IsInitials(ReadOnlySpan<char> word)
    {
        if (word.Length == 1)
        {
            return char.IsLetter(word[0]);
        }

        for (var i = 0; i < word.Length; i += 2)
        {
            if (!char.IsUpper(word[i]) || (i + 1 < word.Length && word[i + 1] != '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether the token around <paramref name="position"/>, not reaching back before <paramref name="start"/>, is a URL or an e-mail address.</summary>
    /// <remarks>The token stops at whitespace and at marks no URL holds unescaped (。 « » quotes), so "。www" and "org«Hola.»" are two.</remarks>
    internal static bool IsInUrlOrEmail(string text, int start, int position)
    {
        var tokenStart = position;
        while (tokenStart > start && IsUrlCharacter(text[tokenStart - 1]))
        {
            tokenStart--;
        }

        var tokenEnd = UrlTokenEnd(text, position);
        var token = text.AsSpan(tokenStart, tokenEnd - tokenStart).TrimStart("([{'¿¡");
        if (token.Contains("://", StringComparison.Ordinal) || token.StartsWith("www.", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var at = token.IndexOf('@');
        return at > 0 && token[(at + 1)..].Contains('.');
    }

    /// <summary>Where the URL-like token at <paramref name="position"/> ends (its length when it runs to the end).</summary>
    internal static int UrlTokenEnd(string text, int position)
    {
        while (position < text.Length && IsUrlCharacter(text[position]))
        {
            position++;
        }

        return position;
    }

    private static bool IsUrlCharacter(char c) =>
        !char.IsWhiteSpace(c) && c is not ('"' or '<' or '>' or '«' or '»' or '“' or '”' or '‘' or '’' or '…' or '。' or '！' or '？' or '、' or '，' or '「' or '」');

    private static bool NextLetterIsLower(string text, int from)
    {
        for (var i = from; i < text.Length; i++)
        {
            if (char.IsLetter(text[i]))
            {
                return char.IsLower(text[i]);
            }
        }

        return false;
    }

    private static bool IsTerminator(char c) => c is '.' or '!' or '?' or '…' or '。' or '！' or '？' or '‼' or '⁇' or '⁈' or '⁉';

    private static bool IsCloser(char c) => c is '"' or '\'' or '»' or '”' or '’' or ')' or ']' or '}' or '」' or '』' or '）';

    private static bool IsBlank(string text, int start, int end)
    {
        for (var i = start; i < end; i++)
        {
            if (!char.IsWhiteSpace(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsPlainCode(string code) => code.Length is 2 or 3 && code.AsSpan().IndexOfAnyExceptInRange('a', 'z') < 0;

    /// <summary>ICU leaves "…" alone; a capital (or nothing) after it and its whitespace starts a new sentence.</summary>
    private static void AddEllipsisEnds(string text, List<int> candidates)
    {
        var added = false;
        for (var i = text.IndexOf('…', StringComparison.Ordinal); i >= 0; i = text.IndexOf('…', i + 1))
        {
            var end = i + 1;
            while (end < text.Length && (text[end] == '…' || IsCloser(text[end])))
            {
                end++;
            }

            if (end == text.Length || !char.IsWhiteSpace(text[end]))
            {
                continue;
            }

            while (end < text.Length && char.IsWhiteSpace(text[end]))
            {
                end++;
            }

            if (end < text.Length && !NextLetterIsLower(text, end) && !candidates.Contains(end))
            {
                candidates.Add(end);
                added = true;
            }

            i = end - 1;
        }

        if (added)
        {
            candidates.Sort();
        }
    }

    /// <summary>Without ICU: a sentence ends after . ! ? … (with closing quotes or brackets) followed by whitespace, or at a blank line.</summary>
    private static void RuleEnds(string text, List<int> ends)
    {
        var i = 0;
        while (i < text.Length)
        {
            var end = i + 1;
            var c = text[i];
            var candidate = c == '\n' && end < text.Length && text[end] == '\n';
            if (!candidate && IsTerminator(c))
            {
                while (end < text.Length && (IsTerminator(text[end]) || IsCloser(text[end])))
                {
                    end++;
                }

                // 3.14, e.g., example.com and ¿Qué?¡Sí! have no space after the period; a CJK stop needs none.
                candidate = end == text.Length || char.IsWhiteSpace(text[end]) || c is '。' or '！' or '？';

                // As UAX #29 (rule SB8): a period before a lower-case word ends nothing (p.m. on, etc. and).
                candidate &= c != '.' || !NextLetterIsLower(text, end);
            }

            if (!candidate)
            {
                i++;
                continue;
            }

            // Keep the whitespace after the terminator with this sentence, so the pieces join back exactly.
            while (end < text.Length && char.IsWhiteSpace(text[end]))
            {
                end++;
            }

            ends.Add(end);
            i = end;
        }

        if (ends.Count == 0 || ends[^1] != text.Length)
        {
            ends.Add(text.Length);
        }
    }
}
