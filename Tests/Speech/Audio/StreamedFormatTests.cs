using MitTts.Speech.Audio;
using MitTts.Tests.Support;
using Xunit.Abstractions;

namespace MitTts.Tests.Speech.Audio;

/// <summary>Every format, streamed chunk by chunk in uneven chunks and joined, is one stream that independent decoders read as the source speech.</summary>
public sealed class StreamedFormatTests(ITestOutputHelper output)
{
    public static TheoryData<string, int> FormatsAndRates => new()
    {
        { "wav", 8000 }, { "wav", 22050 }, { "wav", 48000 },
        { "ogg", 16000 }, { "ogg", 22050 }, { "ogg", 48000 }, { "ogg", 8000 },
        { "mulaw", 8000 }, { "alaw", 8000 },
        { "flac", 8000 }, { "flac", 24000 }, { "flac", 48000 },
    };

    [Theory]
    [MemberData(nameof(FormatsAndRates))]
    public async Task Streamed_chunks_join_into_one_stream_ffmpeg_decodes_to_the_source(string format, int rate)
    {
        var source = await SourceAt(rate);
        var encoder = AudioEncoders.Get(format);

        var (bytes, starts) = ChunkedEncoding.Encode(encoder, source.Samples, rate);
        var decoded = await AudioDecoders.Ffmpeg(bytes, Extension(format));
        var (correlation, lagMs) = AudioMeasures.EnvelopeMatch(source, decoded);
        output.WriteLine($"{format}@{rate}: {bytes.Length} bytes, decoded {decoded.DurationSeconds:0.0000}s at {decoded.SampleRate} Hz vs source {source.DurationSeconds:0.0000}s; envelope r={correlation:0.000} lag={lagMs}ms");

        Assert.Equal(1, decoded.Channels);
        Assert.Equal(format == "ogg" ? OggOpusEncoder.OpusRate : rate, decoded.SampleRate);
        Assert.InRange(decoded.DurationSeconds, source.DurationSeconds * 0.98, source.DurationSeconds * 1.02);
        Assert.True(correlation > 0.95, $"envelope correlation {correlation}");
        Assert.InRange(lagMs, -10, 10);
        var boundaries = AudioMeasures.AtRate(starts.Skip(1), rate, decoded.SampleRate, lagMs * decoded.SampleRate / 1000);
        Assert.Empty(AudioMeasures.Clicks(decoded.Samples, boundaries));
    }

    [Fact]
    public async Task Pcm_stream_is_exactly_the_source_samples()
    {
        var source = await SourceAt(24000);

        var (bytes, _) = ChunkedEncoding.Encode(new PcmEncoder(), source.Samples, 24000);

        Assert.Equal(source.Samples, Pcm.FromS16Le(bytes));
    }

    [Theory]
    [InlineData("mulaw", "pcm_mulaw")]
    [InlineData("alaw", "pcm_alaw")]
    public async Task G711_is_8_kHz_WAV_that_ffprobe_and_sox_read(string format, string codec)
    {
        var source = await SourceAt(8000);
        var encoder = AudioEncoders.Get(format);
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        encoder.EncodeWhole(source.Samples, 8000, output);
        var bytes = output.WrittenSpan.ToArray();

        var probe = await ExternalTool.Ffprobe(bytes, "wav");
        var sox = await AudioDecoders.Sox(bytes, "wav");

        Assert.Equal(("wav", codec, 8000, 1), (probe.FormatName, probe.CodecName, probe.SampleRate, probe.Channels));
        Assert.Equal(source.DurationSeconds, probe.DurationSeconds, 0.01);
        Assert.Equal((8000, 1), (sox.SampleRate, sox.Channels));
        Assert.Equal(source.DurationSeconds, sox.DurationSeconds, 0.01);
        Assert.Throws<ArgumentOutOfRangeException>(() => encoder.CreateStream(22050));
    }

    [Theory]
    [InlineData("mulaw")]
    [InlineData("alaw")]
    public async Task Streamed_G711_reads_in_ffprobe_as_the_length_it_has_not_as_its_unknown_length_marker(string format)
    {
        var source = await SourceAt(8000);

        var (streamed, _) = ChunkedEncoding.Encode(AudioEncoders.Get(format), source.Samples, 8000);
        var probe = await ExternalTool.Ffprobe(streamed, "wav");

        Assert.Equal(uint.MaxValue, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(streamed.AsSpan(54)));
        Assert.Equal(source.DurationSeconds, probe.DurationSeconds, 0.01);
    }

    [Fact]
    public async Task Streamed_wav_header_says_unknown_length_and_whole_wav_header_is_exact()
    {
        var source = await SourceAt(16000);
        var whole = new System.Buffers.ArrayBufferWriter<byte>();
        new WavEncoder().EncodeWhole(source.Samples, 16000, whole);

        var (streamed, _) = ChunkedEncoding.Encode(new WavEncoder(), source.Samples, 16000);
        var sox = await AudioDecoders.SoxDecode(streamed, "wav");

        Assert.Equal(uint.MaxValue, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(streamed.AsSpan(40)));
        Assert.Equal((uint)(source.Samples.Length * 2), System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(whole.WrittenSpan[40..]));
        Assert.Equal(source.Samples, Pcm.FromWav(whole.WrittenSpan.ToArray()).Samples);
        Assert.Equal(streamed.AsSpan(44).ToArray(), whole.WrittenSpan[44..].ToArray());
        Assert.Equal(source.Samples, sox);
    }

    internal static async Task<Pcm> SourceAt(int rate)
    {
        var speech = await SpeechSamples.Sentence();
        return new Pcm(StreamingResampler.ResampleWhole(speech.Samples, speech.SampleRate, rate), rate, 1);
    }

    private static string Extension(string format) => format is "mulaw" or "alaw" ? "wav" : format;
}
