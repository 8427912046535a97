using NAudio.Codecs;

namespace MitTts.Speech.Audio;

/// <summary>G.711 mu-law at 8 kHz (North American and Japanese telephony), WAVE-wrapped (format tag 7).</summary>
public sealed class MulawEncoder : AudioEncoder
{
    private static readonly Func<short, byte> s_encode = MuLawEncoder.LinearToMuLawSample;

    public override string Format => "mulaw";

    public override string ContentType => "audio/wav";

    public override string FileExtension => "wav";

    public override string Description => "G.711 telephony audio";

    public override string Container => "riff";

    public override int? RequiredSampleRate => G711WavStream.Rate;

    public override void FinishWhole(Span<byte> file, long samples) => G711WavStream.SetLengths(file);

    public override IAudioEncoderStream CreateStream(int sampleRate, AudioEncoderOptions? options = null)
    {
        CheckSampleRate(sampleRate);
        return new G711WavStream(G711WavStream.MuLawTag, s_encode, options?.TotalSamples);
    }
}
