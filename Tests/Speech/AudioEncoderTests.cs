using System.Buffers;
using MitTts.Speech.Audio;
using MitTts.Tests.Support;

namespace MitTts.Tests.Speech;

public sealed class AudioEncoderTests
{
    private static readonly short[] s_tone = [.. Enumerable.Range(0, 22050).Select(i => (short)(8000 * Math.Sin(2 * Math.PI * 440 * i / 22050)))];

    [Fact]
    public async Task Wav_is_a_RIFF_file_that_ffprobe_and_NAudio_read_with_the_right_duration()
    {
        var output = new ArrayBufferWriter<byte>();
        new WavEncoder().EncodeWhole(s_tone, 22050, output);
        var wav = output.WrittenSpan.ToArray();

        var decoded = Pcm.FromWav(wav);
        var probe = await ExternalTool.Ffprobe(wav, "wav");

        Assert.Equal(s_tone, decoded.Samples);
        Assert.Equal((22050, 1), (decoded.SampleRate, decoded.Channels));
        Assert.Equal(("wav", "pcm_s16le", 22050, 1), (probe.FormatName, probe.CodecName, probe.SampleRate, probe.Channels));
        Assert.Equal(1.0, probe.DurationSeconds, 0.01);
    }

    [Fact]
    public void Pcm_is_the_samples_in_little_endian_without_header()
    {
        var output = new ArrayBufferWriter<byte>();
        new PcmEncoder().EncodeWhole(s_tone, 22050, output);

        Assert.Equal(s_tone, Pcm.FromS16Le(output.WrittenSpan));
    }

    [Theory]
    [InlineData("wav", "audio/wav")]
    [InlineData("WAV", "audio/wav")]
    [InlineData("pcm", "audio/pcm")]
    public void Formats_are_found_by_name(string name, string contentType)
    {
        Assert.True(AudioEncoders.TryGet(name, out var encoder));
        Assert.Equal(contentType, encoder.ContentType);
    }
}
