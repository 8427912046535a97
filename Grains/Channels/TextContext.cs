using System.Text;
using MitTts.Grains.Interfaces;
using MitTts.Speech.Text;

namespace MitTts.Grains.Channels;

/// <summary>Streamed text of one context (LLM tokens): buffered until a sentence is certainly complete, then spoken as its own task.</summary>
internal sealed class TextContext(string id, TextContextOptions options, string? language)
{
    private readonly StringBuilder _buffered = new();
    private SentenceStream _sentences = new(language);

    public string Id { get; } = id;

    public TextContextOptions Options { get; } = options;

    public string? Language { get; } = language;

    /// <summary>Tasks of this context that have not ended on the channel yet.</summary>
    public int OpenTasks { get; set; }

    /// <summary>Whether the client ended the context; it ends on the channel once its last task has.</summary>
    public bool Ended { get; set; }

    /// <summary>The text received and not yet spoken (what a restored context starts from).</summary>
    public string Buffered => _buffered.ToString();

    public static TextContext Restore(TextContextRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var context = new TextContext(record.Id, record.Options, record.Language) { OpenTasks = record.OpenTasks, Ended = record.Ended };

        // Saved text was never a complete sentence, so feeding it again completes none.
        context.Append(record.Buffered);
        return context;
    }

    /// <summary>Appends a fragment and returns the sentences it completed (blank ones dropped: there is nothing to say).</summary>
    public IReadOnlyList<string> Append(string text)
    {
        var completed = new List<string>();
        _sentences.Append(text, completed);
        _buffered.Append(text);

        // The stream's pieces join back to its input exactly, so what it returned leaves the front of the buffer.
        var taken = 0;
        foreach (var sentence in completed)
        {
            taken += sentence.Length;
        }

        _buffered.Remove(0, Math.Min(taken, _buffered.Length));
        completed.RemoveAll(string.IsNullOrWhiteSpace);
        return completed;
    }

    /// <summary>Everything buffered, complete sentence or not; null when nothing but whitespace is left.</summary>
    public string? TakeRest()
    {
        _buffered.Clear();
        return _sentences.Flush();
    }

    /// <summary>How many times the context was interrupted: a submission that began before one stops (its pieces were interrupted).</summary>
    public int Discards { get; private set; }

    /// <summary>Drops what is buffered (barge-in): the next fragment starts a fresh text.</summary>
    public void Discard()
    {
        Discards++;
        _buffered.Clear();
        _sentences = new SentenceStream(Language);
    }
}
