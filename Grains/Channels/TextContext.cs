using MitTts.Grains.Interfaces;
using MitTts.Speech.Text;

namespace MitTts.Grains.Channels;

/// <summary>Streamed text of one context (LLM tokens): buffered until a sentence is certainly complete, then spoken as its own task.</summary>
internal sealed class TextContext(string id, TextContextOptions options, string? language)
{
    private SentenceStream _sentences = new(language);

    public string Id { get; } = id;

    public TextContextOptions Options { get; } = options;

    /// <summary>Tasks of this context that have not ended on the channel yet.</summary>
    public int OpenTasks { get; set; }

    /// <summary>Whether the client ended the context; it ends on the channel once its last task has.</summary>
    public bool Ended { get; set; }

    /// <summary>Appends a fragment and returns the sentences it completed (blank ones dropped: there is nothing to say).</summary>
    public IReadOnlyList<string> Append(string text)
    {
        var completed = new List<string>();
        _sentences.Append(text, completed);
        completed.RemoveAll(string.IsNullOrWhiteSpace);
        return completed;
    }

    /// <summary>Everything buffered, complete sentence or not; null when nothing but whitespace is left.</summary>
    public string? TakeRest() => _sentences.Flush();

    /// <summary>Drops what is buffered (barge-in): the next fragment starts a fresh text.</summary>
    public void Discard() => _sentences = new SentenceStream(language);
}
