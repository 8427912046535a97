using MitTts.Speech.Audio;
using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Espeak;

namespace MitTts.Tests.Support;

/// <summary>Real espeak-ng speech to encode: the decoded audio must be this speech, not merely sound.</summary>
public static class SpeechSamples
{
    private static readonly Lazy<Task<Pcm>> s_sentence = new(() => Speak(
        "Conversational agents need their audio as soon as it is ready. The quick brown fox jumps over the lazy dog."));

    /// <summary>About four seconds of English at the engine's own rate (22050 Hz).</summary>
    public static Task<Pcm> Sentence() => s_sentence.Value;

    public static async Task<Pcm> Speak(string text, string voice = "en-us", double speed = 1.0, double pitch = 1.0)
    {
        var engine = new EspeakEngine();
        using var buffer = new PcmBuffer();
        await engine.SynthesizeAsync(new SpeechRequest(text, voice, speed, pitch), buffer);
        return new Pcm(buffer.Samples.ToArray(), engine.SampleRate, 1);
    }
}
