using MitTts.Speech.Audio;

namespace MitTts.Grains.Synthesis;

/// <summary>A job's sentences, the next one to speak and the PCM spoken so far: what preemption keeps so the job resumes exactly.</summary>
public sealed class SentenceProgress(IReadOnlyList<string> sentences) : IDisposable
{
    public IReadOnlyList<string> Sentences { get; } = sentences;

    public int Next { get; set; }

    public PcmBuffer Pcm { get; } = new();

    public int SampleRate { get; set; }

    /// <summary>The encoder pipeline of a streamed task, kept across preemption so the stream continues where it stopped.</summary>
    public StreamedRendering? Stream { get; set; }

    public bool IsDone => Next >= Sentences.Count;

    public void Dispose()
    {
        Pcm.Dispose();
        Stream?.Dispose();
    }
}
