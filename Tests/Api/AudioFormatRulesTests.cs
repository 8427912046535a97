using MitTts.Gateway.Apis;
using MitTts.Grains.Formats;
using MitTts.Grains.Interfaces;

namespace MitTts.Tests.Api;

/// <summary>The gateway's sample-rate and bitrate rules, read from the encoders' catalogue: the same codes, messages and
/// fields the API has always answered with.</summary>
public sealed class AudioFormatRulesTests
{
    private static readonly AudioFormatRules s_rules = new(AudioFormatCatalog.Formats);

    public static TheoryData<AudioFormat, int?, int?, string, string, string> Refusals => new()
    {
        { AudioFormat.Wav, 11025, null, "invalid_sample_rate", "sample_rate must be one of: 8000, 16000, 22050, 24000, 44100, 48000.", "sample_rate" },
        { AudioFormat.Wav, 0, null, "invalid_sample_rate", "sample_rate must be one of: 8000, 16000, 22050, 24000, 44100, 48000.", "sample_rate" },
        { AudioFormat.Mulaw, 16000, null, "invalid_sample_rate", "mulaw is G.711 telephony audio: sample_rate must be 8000.", "sample_rate" },
        { AudioFormat.Alaw, 44100, null, "invalid_sample_rate", "alaw is G.711 telephony audio: sample_rate must be 8000.", "sample_rate" },
        { AudioFormat.Mp3, null, 100, "invalid_bitrate", "bitrate (kbps) for mp3 must be one of: 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320.", "bitrate" },
        { AudioFormat.Ogg, null, 1000, "invalid_bitrate", "bitrate (kbps) for ogg must be between 6 and 256.", "bitrate" },
        { AudioFormat.Ogg, null, 5, "invalid_bitrate", "bitrate (kbps) for ogg must be between 6 and 256.", "bitrate" },
        { AudioFormat.Wav, null, 64, "invalid_bitrate", "bitrate applies to mp3, ogg and aac only, not wav.", "bitrate" },
        { AudioFormat.Mulaw, 8000, 64, "invalid_bitrate", "bitrate applies to mp3, ogg and aac only, not mulaw.", "bitrate" },
        { AudioFormat.Mp3, 22050, 320, "invalid_bitrate", "mp3 at 22050 Hz carries at most 160 kbps: ask for less, or for a higher sample_rate (or none, and the server picks one that carries 320).", "bitrate" },
        { AudioFormat.Mp3, 8000, 80, "invalid_bitrate", "mp3 at 8000 Hz carries at most 64 kbps: ask for less, or for a higher sample_rate (or none, and the server picks one that carries 80).", "bitrate" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void A_rate_or_bitrate_the_format_does_not_take_is_refused_with_the_same_error_as_before(
        AudioFormat format, int? sampleRate, int? bitrate, string code, string message, string field)
    {
        var error = s_rules.ValidateAudio(s_rules.Find(format)!, sampleRate, bitrate);

        Assert.NotNull(error);
        Assert.Equal((400, code, message, field), (error.Status, error.Code, error.Message, error.Field));
    }

    [Theory]
    [InlineData(AudioFormat.Wav, 44100, null)]
    [InlineData(AudioFormat.Pcm, null, null)]
    [InlineData(AudioFormat.Mulaw, 8000, null)]
    [InlineData(AudioFormat.Alaw, null, null)]
    [InlineData(AudioFormat.Mp3, 22050, 128)]
    [InlineData(AudioFormat.Mp3, 22050, 160)]
    [InlineData(AudioFormat.Mp3, 44100, 320)]
    [InlineData(AudioFormat.Mp3, null, 320)]
    [InlineData(AudioFormat.Ogg, 48000, 7)]
    public void What_the_format_takes_passes(AudioFormat format, int? sampleRate, int? bitrate) =>
        Assert.Null(s_rules.ValidateAudio(s_rules.Find(format)!, sampleRate, bitrate));
}
