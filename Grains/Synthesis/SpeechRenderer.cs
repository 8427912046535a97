using System.Buffers;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Voices;
using MitTts.Speech.Audio;
using MitTts.Speech.Engines;

namespace MitTts.Grains.Synthesis;

/// <summary>Turns engine PCM into the audio a request asked for; the synthesizer grain decides when the engine runs.</summary>
public sealed class SpeechRenderer(SpeechEngines engines, VoiceCatalog voices)
{
    /// <summary>The catalogue voice and the engine that speaks it.</summary>
    public (VoiceEntry Voice, ISpeechEngine Engine) Resolve(SynthesisRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var voice = voices.Find(request.VoiceId) ?? throw new InvalidOperationException($"Voice '{request.VoiceId}' is not in this silo's catalogue.");
        var engine = engines.Find(voice.Engine) ?? throw new InvalidOperationException($"Engine '{voice.Engine}' is not available on this silo.");
        return (voice, engine);
    }

    /// <summary>The engine request for <paramref name="text"/> (the whole request text, or one sentence of it).</summary>
    public static SpeechRequest EngineRequest(SynthesisRequest request, VoiceEntry voice, string text)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(voice);
        return new SpeechRequest(text, voice.EngineVoice, request.Speed, request.Pitch);
    }

    /// <summary>Encodes the engine's PCM (at <paramref name="sampleRate"/>) into the requested format.</summary>
    public static AudioResult Finish(ReadOnlySpan<short> pcm, int sampleRate, SynthesisRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var encoder = AudioEncoders.Get(request.Format.ToString());
        var output = new ArrayBufferWriter<byte>(pcm.Length * sizeof(short) + WavEncoder.HeaderLength);
        encoder.EncodeWhole(pcm, sampleRate, output);
        return new AudioResult(output.WrittenSpan.ToArray(), encoder.ContentType, encoder.FileExtension, sampleRate, (double)pcm.Length / sampleRate);
    }
}
