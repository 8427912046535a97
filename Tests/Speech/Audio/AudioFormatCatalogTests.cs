using System.Buffers;
using System.Buffers.Binary;
using MitTts.Grains.Formats;
using MitTts.Grains.Interfaces;
using MitTts.Speech.Audio;
using MitTts.Tests.Support;

namespace MitTts.Tests.Speech.Audio;

/// <summary>Each encoder states what it accepts and how its whole file is finished; the catalogue the gateway reads is that.</summary>
public sealed class AudioFormatCatalogTests
{
    [Fact]
    public void Every_API_format_has_an_encoder_and_the_catalogue_repeats_what_it_states()
    {
        var formats = AudioFormatCatalog.Formats;

        Assert.Equal(Enum.GetValues<AudioFormat>(), formats.Select(f => f.Format));
        foreach (var info in formats)
        {
            var encoder = AudioFormatCatalog.Encoder(info.Format);
            Assert.Equal(info.Format.ToString().ToLowerInvariant(), info.Name);
            Assert.Equal(encoder.Format, info.Name);
            Assert.Equal((encoder.ContentType, encoder.FileExtension, encoder.Container, encoder.Description), (info.ContentType, info.FileExtension, info.Container, info.Description));
            Assert.Equal(encoder.SampleRates, info.SampleRates);
            Assert.Equal(encoder.RequiredSampleRate, info.RequiredSampleRate);
            Assert.Equal(encoder.Bitrates?.DefaultKbps, info.Bitrates?.DefaultKbps);
            Assert.True(info.Streams);
            Assert.NotEmpty(info.SampleRates);
        }
    }

    [Theory]
    [InlineData(AudioFormat.Wav, "riff", "audio/wav", "wav")]
    [InlineData(AudioFormat.Pcm, "raw", "audio/pcm", "pcm")]
    [InlineData(AudioFormat.Mp3, "mpeg", "audio/mpeg", "mp3")]
    [InlineData(AudioFormat.Ogg, "ogg", "audio/ogg", "ogg")]
    [InlineData(AudioFormat.Mulaw, "riff", "audio/wav", "wav")]
    [InlineData(AudioFormat.Alaw, "riff", "audio/wav", "wav")]
    [InlineData(AudioFormat.Flac, "flac", "audio/flac", "flac")]
    [InlineData(AudioFormat.Aac, "adts", "audio/aac", "aac")]
    public void Each_format_names_its_container_content_type_and_extension(AudioFormat format, string container, string contentType, string extension)
    {
        var info = AudioFormatCatalog.Formats.Single(f => f.Format == format);

        Assert.Equal((container, contentType, extension), (info.Container, info.ContentType, info.FileExtension));
    }

    [Fact]
    public void G711_takes_8000_Hz_only_and_no_bitrate_while_linear_formats_take_every_offered_rate()
    {
        foreach (var format in new[] { AudioFormat.Mulaw, AudioFormat.Alaw })
        {
            var encoder = AudioFormatCatalog.Encoder(format);
            Assert.Equal([8000], encoder.SampleRates);
            Assert.Equal(8000, encoder.OutputRate(null, 22050));
            Assert.Null(encoder.Bitrates);
        }

        foreach (var format in new[] { AudioFormat.Wav, AudioFormat.Pcm, AudioFormat.Mp3, AudioFormat.Ogg })
        {
            var encoder = AudioFormatCatalog.Encoder(format);
            Assert.Equal([8000, 16000, 22050, 24000, 44100, 48000], encoder.SampleRates);
            Assert.Equal(22050, encoder.OutputRate(null, 22050));
            Assert.Equal(16000, encoder.OutputRate(16000, 22050));
        }
    }

    [Theory]
    [InlineData(null, 22050, 128, 22050)]
    [InlineData(null, 22050, 160, 22050)]
    [InlineData(null, 22050, 192, 44100)]
    [InlineData(null, 16000, 320, 44100)]
    [InlineData(null, 8000, 80, 16000)]
    [InlineData(null, 22050, null, 22050)]
    [InlineData(48000, 22050, 320, 48000)]
    public void Mp3_is_encoded_at_the_voice_rate_unless_its_bitrate_needs_a_higher_one(int? requested, int source, int? kbps, int expected) =>
        Assert.Equal(expected, AudioFormatCatalog.Encoder(AudioFormat.Mp3).OutputRate(requested, source, kbps));

    [Fact]
    public void Mp3_takes_a_set_of_bitrates_and_ogg_a_range()
    {
        var mp3 = AudioFormatCatalog.Encoder(AudioFormat.Mp3).Bitrates!;
        var ogg = AudioFormatCatalog.Encoder(AudioFormat.Ogg).Bitrates!;

        Assert.Equal(64, mp3.DefaultKbps);
        Assert.True(mp3.Accepts(32) && mp3.Accepts(320) && mp3.Accepts(160));
        Assert.False(mp3.Accepts(100) || mp3.Accepts(31) || mp3.Accepts(384));
        Assert.Equal(32, ogg.DefaultKbps);
        Assert.True(ogg.Accepts(6) && ogg.Accepts(7) && ogg.Accepts(256));
        Assert.False(ogg.Accepts(5) || ogg.Accepts(257) || ogg.Accepts(1000));
        Assert.Null(AudioFormatCatalog.Encoder(AudioFormat.Wav).Bitrates);
        Assert.Null(AudioFormatCatalog.Encoder(AudioFormat.Pcm).Bitrates);
    }

    [Theory]
    [InlineData(AudioFormat.Wav, 16000)]
    [InlineData(AudioFormat.Mulaw, 8000)]
    [InlineData(AudioFormat.Alaw, 8000)]
    public async Task A_finished_streamed_WAVE_is_byte_for_byte_the_whole_file(AudioFormat format, int rate)
    {
        var source = await StreamedFormatTests.SourceAt(rate);
        var encoder = AudioFormatCatalog.Encoder(format);
        var whole = new ArrayBufferWriter<byte>();
        encoder.EncodeWhole(source.Samples, rate, whole);

        var (streamed, _) = ChunkedEncoding.Encode(encoder, source.Samples, rate);
        Assert.Equal(WavEncoder.UnknownLength, BinaryPrimitives.ReadUInt32LittleEndian(streamed.AsSpan(4)));
        encoder.FinishWhole(streamed, source.Samples.Length);

        Assert.Equal(whole.WrittenSpan.ToArray(), streamed);
        var probe = await ExternalTool.Ffprobe(streamed, "wav");
        Assert.Equal(source.DurationSeconds, probe.DurationSeconds, 0.01);
    }

    [Fact]
    public async Task A_finished_streamed_FLAC_states_its_length_as_the_whole_file_does()
    {
        var source = await StreamedFormatTests.SourceAt(16000);
        var encoder = AudioFormatCatalog.Encoder(AudioFormat.Flac);
        var whole = new ArrayBufferWriter<byte>();
        encoder.EncodeWhole(source.Samples, 16000, whole);
        var (streamed, _) = ChunkedEncoding.Encode(encoder, source.Samples, 16000);
        Assert.True(double.IsNaN((await ExternalTool.Ffprobe(streamed, "flac")).DurationSeconds), "a live stream says unknown");

        encoder.FinishWhole(streamed, source.Samples.Length);

        Assert.Equal(whole.WrittenSpan.ToArray(), streamed);
        Assert.Equal(source.DurationSeconds, (await ExternalTool.Ffprobe(streamed, "flac")).DurationSeconds, 0.001);
    }

    [Theory]
    [InlineData(AudioFormat.Pcm)]
    [InlineData(AudioFormat.Mp3)]
    [InlineData(AudioFormat.Ogg)]
    [InlineData(AudioFormat.Aac)]
    public async Task Formats_whose_stream_is_already_the_file_leave_it_as_is(AudioFormat format)
    {
        var source = await StreamedFormatTests.SourceAt(16000);
        var encoder = AudioFormatCatalog.Encoder(format);
        var (streamed, _) = ChunkedEncoding.Encode(encoder, source.Samples, 16000, new AudioEncoderOptions(StreamId: "task_1"));
        var copy = streamed.ToArray();

        encoder.FinishWhole(streamed, source.Samples.Length);

        Assert.Equal(copy, streamed);
    }

    [Fact]
    public async Task The_renderer_stores_a_streamed_task_as_its_format_finishes_it()
    {
        var source = await StreamedFormatTests.SourceAt(8000);
        var request = new SynthesisRequest("hola", "es-female-1", AudioFormat.Mulaw, Priority.Normal, null, 1.0, 1.0, Streamed: true);
        var encoder = AudioFormatCatalog.Encoder(AudioFormat.Mulaw);
        var whole = new ArrayBufferWriter<byte>();
        encoder.EncodeWhole(source.Samples, 8000, whole);
        var (streamed, _) = ChunkedEncoding.Encode(encoder, source.Samples, 8000);

        var result = MitTts.Grains.Synthesis.SpeechRenderer.StreamedResult(request, streamed, engineRate: 22050, source.Samples.Length, source.DurationSeconds);

        Assert.Equal(("audio/wav", "wav", 8000), (result.ContentType, result.FileExtension, result.SampleRate));
        Assert.Equal(whole.WrittenSpan.ToArray(), result.Data);
    }
}
