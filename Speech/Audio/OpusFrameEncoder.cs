namespace MitTts.Speech.Audio;

/// <summary>One Opus encoder state: 20 ms mono frames at 48 kHz in, one packet per frame out.</summary>
/// <remarks>The seam between the Ogg framing and the codec, so the benchmark can put another codec under the same stream.</remarks>
internal interface IOpusFrameEncoder : IDisposable
{
    /// <summary>Samples (at 48 kHz) the decoder must drop at the start: the stream's pre-skip.</summary>
    int Lookahead { get; }

    /// <summary>A short name for the OpusTags vendor string.</summary>
    string Vendor { get; }

    /// <summary>Encodes one frame of <see cref="OggOpusEncoder.FrameSamples"/> samples into <paramref name="packet"/>; returns its length.</summary>
    int Encode(ReadOnlySpan<short> frame, Span<byte> packet);
}

/// <summary>How the Opus encoder tunes itself: speech (<see cref="Voip"/>) or general audio (<see cref="Audio"/>).</summary>
public enum OpusApplication
{
    /// <summary>Best for most non-voice signals and for speech heard through good speakers; keeps the source closest.</summary>
    Audio,

    /// <summary>Best intelligibility for speech at low bitrates (telephony-like links).</summary>
    Voip,
}

/// <summary>Opus by libopus (Debian <c>libopus0</c>), the native reference encoder.</summary>
internal sealed class LibOpusFrameEncoder : IOpusFrameEncoder
{
    private readonly OpusEncoderHandle _encoder;

    public LibOpusFrameEncoder(int bitrateKbps, int complexity, OpusApplication application)
    {
        _encoder = OpusNative.opus_encoder_create(
            OggOpusEncoder.OpusRate,
            1,
            application == OpusApplication.Voip ? OpusNative.ApplicationVoip : OpusNative.ApplicationAudio,
            out var error);
        if (error != OpusNative.Ok || _encoder.IsInvalid)
        {
            _encoder.Dispose();
            throw OpusNative.Failure(error, "opus_encoder_create");
        }

        try
        {
            OpusNative.Check(OpusNative.opus_encoder_ctl_set(_encoder, OpusNative.SetBitrateRequest, bitrateKbps * 1000), "OPUS_SET_BITRATE");
            OpusNative.Check(OpusNative.opus_encoder_ctl_set(_encoder, OpusNative.SetComplexityRequest, complexity), "OPUS_SET_COMPLEXITY");
            OpusNative.Check(OpusNative.opus_encoder_ctl_set(_encoder, OpusNative.SetSignalRequest, OpusNative.SignalVoice), "OPUS_SET_SIGNAL");
            OpusNative.Check(OpusNative.opus_encoder_ctl_get(_encoder, OpusNative.GetLookaheadRequest, out var lookahead), "OPUS_GET_LOOKAHEAD");
            Lookahead = lookahead;
        }
        catch
        {
            _encoder.Dispose();
            throw;
        }
    }

    public int Lookahead { get; }

    public string Vendor => "libopus";

    public unsafe int Encode(ReadOnlySpan<short> frame, Span<byte> packet)
    {
        fixed (short* pcm = frame)
        fixed (byte* data = packet)
        {
            return OpusNative.Check(OpusNative.opus_encode(_encoder, pcm, frame.Length, data, packet.Length), "opus_encode");
        }
    }

    public void Dispose() => _encoder.Dispose();
}
