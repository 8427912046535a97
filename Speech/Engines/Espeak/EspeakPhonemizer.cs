using System.Text;

namespace MitTts.Speech.Engines.Espeak;

/// <summary>Text to IPA phonemes the way Piper and Kokoro voices were trained: espeak-ng's <c>espeak_TextToPhonemes</c>, clause by
/// clause, with the clause's punctuation put back (<c>. ? !</c> end a sentence; <c>, : ;</c> are followed by a space).</summary>
/// <remarks>Runs on the one espeak-ng thread (<see cref="EspeakWorker"/>), queued with synthesis jobs, so the library never has two
/// threads inside it. Debian's espeak-ng 1.51 has no <c>espeak_TextToPhonemesWithTerminator</c> (piper-phonemize's patched API), so
/// the terminator is read back from the clause's own text.</remarks>
public sealed class EspeakPhonemizer : IPhonemizer
{
    /// <summary>The IPA of <paramref name="text"/> in espeak-ng voice <paramref name="language"/>, one string per sentence,
    /// NFD-normalized (a phoneme is one code point, as in Piper's phoneme id maps), language-switch flags such as <c>(en)</c> removed.</summary>
    public Task<IReadOnlyList<string>> PhonemizeAsync(string text, string language, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(language);
        return EspeakWorker.Instance.EnqueuePhonemize(text, language, cancellationToken);
    }

    /// <summary>The punctuation that ended a clause: its last character that is not a space or a closing quote or bracket.</summary>
    internal static char? Terminator(ReadOnlySpan<char> clauseText)
    {
        for (var i = clauseText.Length - 1; i >= 0; i--)
        {
            var c = clauseText[i];
            if (char.IsWhiteSpace(c) || c is '"' or '\'' or ')' or ']' or '}' or '»' or '”' or '’' or '」' or '』')
            {
                continue;
            }

            return c switch
            {
                '.' or '。' or '…' => '.',
                '?' or '？' => '?',
                '!' or '！' => '!',
                ',' or '，' or '、' => ',',
                ':' or '：' => ':',
                ';' or '；' => ';',
                _ => null,
            };
        }

        return null;
    }

    /// <summary>Builds sentences from espeak-ng's clauses, as piper-phonemize does with the clause terminator.</summary>
    internal sealed class SentenceAssembler
    {
        private readonly List<string> _sentences = [];
        private readonly StringBuilder _sentence = new();

        public void AddClause(string phonemes, string clauseText)
        {
            AppendWithoutLanguageFlags(phonemes.Normalize(NormalizationForm.FormD));
            switch (Terminator(clauseText))
            {
                case char end and ('.' or '?' or '!'):
                    _sentence.Append(end);
                    EndSentence();
                    break;
                case char pause:
                    _sentence.Append(pause).Append(' ');
                    break;
                default:
                    break;
            }
        }

        public IReadOnlyList<string> Finish()
        {
            EndSentence();
            return _sentences;
        }

        private void EndSentence()
        {
            // Kept as Piper keeps it, a trailing ", " included; a clause of nothing but spaces is no sentence.
            var sentence = _sentence.ToString();
            _sentence.Clear();
            if (!string.IsNullOrWhiteSpace(sentence))
            {
                _sentences.Add(sentence);
            }
        }

        // "(en)" ... "(es)" surround words read in another language than the voice's; the models never saw them.
        private void AppendWithoutLanguageFlags(string phonemes)
        {
            var inFlag = false;
            foreach (var c in phonemes)
            {
                if (inFlag)
                {
                    inFlag = c != ')';
                }
                else if (c == '(')
                {
                    inFlag = true;
                }
                else
                {
                    _sentence.Append(c);
                }
            }
        }
    }
}
