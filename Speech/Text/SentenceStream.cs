using System.Text;

namespace MitTts.Speech.Text;

/// <summary>Cuts text that arrives in fragments (LLM tokens) into the same sentences <see cref="SentenceSegmenter.Split(string, string?)"/> gives.</summary>
/// <remarks>A sentence is returned once its end is settled by what follows: a boundary after which a whole word has arrived
/// (so "Dr. " waits for the next token, and a URL waits for its end), or after which a full <see cref="SentenceSegmenter.MaxSentenceLength"/>
/// of text has arrived. Over-long sentences are cut, and the first piece kept short, as soon as the text that decides the cut
/// is there. Only the text not yet returned is re-read on each append, and it stays around one sentence long. Not thread-safe.</remarks>
public sealed class SentenceStream(string? language)
{
    private readonly StringBuilder _buffer = new();
    private readonly List<int> _ends = [];
    private bool _first = true;

    /// <summary>Characters buffered and not yet returned.</summary>
    public int BufferedLength => _buffer.Length;

    /// <summary>Appends <paramref name="text"/> (any fragment: a token, half a word) and adds to <paramref name="completed"/>
    /// each sentence that is now certainly complete.</summary>
    public void Append(string text, ICollection<string> completed)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(completed);
        if (text.Length == 0)
        {
            return;
        }

        _buffer.Append(text);
        var pending = _buffer.ToString();
        _ends.Clear();
        SentenceSegmenter.FindEnds(pending, language, _ends);

        var start = 0;
        foreach (var end in _ends)
        {
            if (end >= pending.Length || !IsSettled(pending, end))
            {
                break;
            }

            SentenceSegmenter.AddPieces(pending, start, end, _first, completed);
            _first = false;
            start = end;
        }

        // The sentence now open ends at its current end or later (more text only ever removes ends), so when it is already
        // over a limit, the cuts Split would make are decided by the text at hand.
        var open = pending.Length;
        foreach (var end in _ends)
        {
            if (end > start)
            {
                open = end;
                break;
            }
        }

        start = CutOpenSentence(pending, start, open, completed);
        _buffer.Remove(0, start);
    }

    /// <summary>Everything buffered that was not yet returned, as one piece (null when only whitespace remains); the buffer is then empty.</summary>
    public string? Flush()
    {
        var rest = _buffer.ToString();
        _buffer.Clear();
        if (string.IsNullOrWhiteSpace(rest))
        {
            return null;
        }

        _first = false;
        return rest;
    }

    private int CutOpenSentence(string pending, int start, int open, ICollection<string> completed)
    {
        if (_first && open - start > SentenceSegmenter.MaxFirstSentenceLength)
        {
            _first = false;
            var cut = SentenceSegmenter.FirstClauseCut(pending, start);
            if (cut > start)
            {
                completed.Add(pending[start..cut]);
                start = cut;
            }
        }

        while (open - start > SentenceSegmenter.MaxSentenceLength)
        {
            _first = false;
            var cut = SentenceSegmenter.ClauseCut(pending, start, start + SentenceSegmenter.MaxSentenceLength);
            completed.Add(pending[start..cut]);
            start = cut;
        }

        return start;
    }

    /// <summary>Whether the sentence end at <paramref name="end"/> can no longer move: the text after it decides every rule.</summary>
    /// <remarks>ICU and the abbreviation rules look ahead to the next letter and its case, the ordinal rule to the next word,
    /// and the URL rule to the end of the token the boundary is in: all known once a word follows and is complete.</remarks>
    private static bool IsSettled(string pending, int end)
    {
        if (pending.Length - end >= SentenceSegmenter.MaxSentenceLength)
        {
            return true;
        }

        // A boundary with no space at it (a.b?c=d): the whole token must be here to tell whether it is a URL.
        if (!char.IsWhiteSpace(pending[end - 1]) && SentenceSegmenter.UrlTokenEnd(pending, end) == pending.Length)
        {
            return false;
        }

        var i = end;
        while (i < pending.Length && !char.IsLetter(pending[i]))
        {
            i++;
        }

        while (i < pending.Length && char.IsLetter(pending[i]))
        {
            i++;
        }

        return i < pending.Length;
    }
}
