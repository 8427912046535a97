using System.Text;
using MitTts.Grains.Interfaces;
using MitTts.Speech.Text;

namespace MitTts.Grains.Channels;

/// <summary>Streamed text of one context (LLM tokens): buffered until a sentence is certainly complete, then spoken as its own task.</summary>
internal sealed class TextContext(string id, TextContextOptions options, string? language)
{
    private readonly StringBuilder _buffer = new();

    public string Id { get; } = id;

    public TextContextOptions Options { get; } = options;

    public string? Language { get; } = language;

    /// <summary>Tasks of this context that have not ended on the channel yet.</summary>
    public int OpenTasks { get; set; }

    /// <summary>Whether the client ended the context; it ends on the channel once its last task has.</summary>
    public bool Ended { get; set; }

    public void Append(string text) => _buffer.Append(text);

    /// <summary>The sentences followed by more text (so "Dr." or "3." at the very end is not mistaken for an end), leaving the rest buffered.</summary>
    public IReadOnlyList<string> TakeCompleteSentences()
    {
        var buffered = _buffer.ToString();
        var pieces = SentenceSegmenter.Split(buffered);
        if (pieces.Count < 2)
        {
            return [];
        }

        var complete = new List<string>(pieces.Count - 1);
        var taken = 0;
        for (var i = 0; i < pieces.Count - 1; i++)
        {
            taken += pieces[i].Length;
            if (!string.IsNullOrWhiteSpace(pieces[i]))
            {
                complete.Add(pieces[i]);
            }
        }

        _buffer.Remove(0, taken);
        return complete;
    }

    /// <summary>Everything buffered, complete sentence or not; null when nothing but whitespace is left.</summary>
    public string? TakeRest()
    {
        var rest = _buffer.ToString();
        _buffer.Clear();
        return string.IsNullOrWhiteSpace(rest) ? null : rest;
    }
}
