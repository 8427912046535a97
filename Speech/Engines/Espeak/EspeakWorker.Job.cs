using System.Globalization;

namespace MitTts.Speech.Engines.Espeak;

/// <summary>One synthesis job of the <see cref="EspeakWorker"/> thread, and the words its events name.</summary>
internal sealed unsafe partial class EspeakWorker
{
    private sealed class Job(SpeechRequest request, IPcmSink sink, CancellationToken token) : Work
    {
        public override void Fail(Exception error) => Completion.TrySetException(error);

        public SpeechRequest Request { get; } = request;

        public IPcmSink Sink { get; } = sink;

        public IWordSink? Words { get; } = sink as IWordSink;

        public CancellationToken Token { get; } = token;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Exception? SinkFailure { get; set; }

        // Where the last mapping stopped: espeak-ng's code-point position and the matching UTF-16 index, so that
        // mapping every word of a request walks the text once rather than once per word.
        private int _codePoints;
        private int _utf16;

        // The end (UTF-16, exclusive) of the last word reported; -1 before the first.
        private int _lastWordEnd = -1;
        private int _lastWordSample;

        /// <summary>Hands one espeakEVENT_WORD to <see cref="Words"/>, mapped from 1-based code points to UTF-16.</summary>
        /// <remarks>espeak-ng reports a source word it speaks as several words (numbers, dictionary phrases such as "déjà vu",
        /// emoji names) as several events whose positions fall inside the first one or on the whitespace after it: those
        /// add nothing a caller could highlight and would break word order, so only the first is reported.</remarks>
        public void ReportWord(int textPosition, int length, int sample)
        {
            var text = Request.Text;
            var start = ToUtf16(text, textPosition - 1);
            var end = ToUtf16(text, textPosition - 1 + Math.Max(length, 0));
            while (start < end && char.IsWhiteSpace(text[start]))
            {
                start++;
            }

            while (end > start && char.IsWhiteSpace(text[end - 1]))
            {
                end--;
            }

            if (start == end && length == 1 && start < text.Length && start > 0 && IsWordCharacter(text[start]) && char.IsWhiteSpace(text[start - 1]))
            {
                // After an abbreviation ("Mr. and", "p. m. con") espeak-ng points one character early, at the space before the word.
                end = start + 1;
            }

            end = WordEnd(text, end);
            if (end == start || start < _lastWordEnd)
            {
                return;
            }

            if (_lastWordEnd >= 0 && !Request.Ssml)
            {
                ReportMerged(text, start, sample);
            }

            _lastWordEnd = end;
            _lastWordSample = sample;
            Words!.Word(start, end - start, sample);
        }

        /// <summary>Words between the last one reported and the one starting at <paramref name="next"/> that espeak-ng spoke within the last
        /// one's event: it says some pairs as one word ("of the", "to be") and reports the first alone, so "the end of the month" came
        /// without its second "the". Each gets a share of the time from the last word's start to <paramref name="nextSample"/>.</summary>
        private void ReportMerged(string text, int next, int nextSample)
        {
            var count = 0;
            for (var i = _lastWordEnd; i < next; i = WordEnd(text, i + 1))
            {
                while (i < next && !IsWordCharacter(text[i]))
                {
                    i++;
                }

                if (i >= next)
                {
                    break;
                }

                count++;
            }

            var at = 0;
            for (var i = _lastWordEnd; i < next && at < count;)
            {
                while (i < next && !IsWordCharacter(text[i]))
                {
                    i++;
                }

                var end = Math.Min(WordEnd(text, i + 1), next);
                at++;
                Words!.Word(i, end - i, _lastWordSample + (int)((long)(nextSample - _lastWordSample) * at / (count + 1)));
                i = end;
            }
        }

        /// <summary>Where the source word that espeak-ng's event ends at <paramref name="end"/> really ends: its length stops at an
        /// apostrophe, a hyphen, an inner dot or a suffix ("isn't" as "isn", "X-ray" as "X", "e.g." as "e", "29th" as "29"), or just
        /// after one ("3." of "3.30", "1," of "1,500"), whose rest it reports as more events or not at all. The word runs on over letters,
        /// digits and marks, over <c>' ’ - . _</c> between them, and over <c>, :</c> between digits; not into scripts written without
        /// spaces (CJK), where each event is a word of its own.</summary>
        private static int WordEnd(string text, int end)
        {
            while (end < text.Length)
            {
                var c = text[end];
                if (IsWordCharacter(c) && end > 0 && (IsWordCharacter(text[end - 1]) || JoinsAt(text, end - 1)))
                {
                    end++;
                }
                else if (JoinsAt(text, end))
                {
                    end += 2;
                }
                else
                {
                    break;
                }
            }

            return end;
        }

        /// <summary>Whether the character at <paramref name="i"/> joins the word characters on either side into one word.</summary>
        private static bool JoinsAt(string text, int i) =>
            i > 0 && i + 1 < text.Length && IsWordCharacter(text[i - 1]) && IsWordCharacter(text[i + 1])
            && (text[i] is '\'' or '’' or '-' or '.' or '_' || (text[i] is ',' or ':' && char.IsAsciiDigit(text[i - 1]) && char.IsAsciiDigit(text[i + 1])));

        private static bool IsWordCharacter(char c) =>
            c < '\u2E80' && (char.IsLetterOrDigit(c) || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark);

        /// <summary>The UTF-16 index of code point <paramref name="codePoint"/> of <paramref name="text"/>, clamped to the text.</summary>
        /// <remarks>A surrogate pair is one code point; a lone surrogate is one too, as UTF-8 encoding turns it into U+FFFD.</remarks>
        private int ToUtf16(string text, int codePoint)
        {
            // Positions mostly move forward; the odd step back (a word spoken as several) walks back rather than from the start.
            while (_codePoints > codePoint && _utf16 > 0)
            {
                _utf16 -= _utf16 >= 2 && char.IsLowSurrogate(text[_utf16 - 1]) && char.IsHighSurrogate(text[_utf16 - 2]) ? 2 : 1;
                _codePoints--;
            }

            while (_codePoints < codePoint && _utf16 < text.Length)
            {
                _utf16 += char.IsHighSurrogate(text[_utf16]) && _utf16 + 1 < text.Length && char.IsLowSurrogate(text[_utf16 + 1]) ? 2 : 1;
                _codePoints++;
            }

            return _utf16;
        }
    }
}
