using System.Buffers;
using MitTts.Speech.Audio;
using MitTts.Tests.Support;

namespace MitTts.Tests.Speech.Audio;

/// <summary>FLAC by libFLAC: lossless whole files and streams, read by ffmpeg and sox.</summary>
public sealed class FlacEncoderTests
{
    [Theory]
    [InlineData(16000)]
    [InlineData(22050)]
    [InlineData(24000)]
    public async Task Whole_flac_file_decodes_to_exactly_the_source_samples_and_states_its_length(int rate)
    {
        var source = await StreamedFormatTests.SourceAt(rate);
        var whole = new ArrayBufferWriter<byte>();
        new FlacEncoder().EncodeWhole(source.Samples, rate, whole);
        var bytes = whole.WrittenSpan.ToArray();

        var decoded = await AudioDecoders.Ffmpeg(bytes, "flac");
        var probe = await ExternalTool.Ffprobe(bytes, "flac");
        var sox = await AudioDecoders.Sox(bytes, "flac");

        Assert.Equal("fLaC"u8.ToArray(), bytes[..4]);
        Assert.Equal(("flac", "flac", rate, 1), (probe.FormatName, probe.CodecName, probe.SampleRate, probe.Channels));
        Assert.Equal(source.Samples, decoded.Samples);
        Assert.Equal(source.DurationSeconds, probe.DurationSeconds, 3);
        Assert.Equal((rate, 1), (sox.SampleRate, sox.Channels));
        Assert.Equal(source.DurationSeconds, sox.DurationSeconds, 3);
        Assert.True(bytes.Length < source.Samples.Length * 2 * 0.8, $"{bytes.Length} bytes is hardly compressed");
    }

    [Fact]
    public async Task Streamed_flac_chunks_join_into_a_stream_that_decodes_to_exactly_the_source()
    {
        var source = await StreamedFormatTests.SourceAt(24000);

        var (bytes, _) = ChunkedEncoding.Encode(new FlacEncoder(), source.Samples, 24000);
        var decoded = await AudioDecoders.Ffmpeg(bytes, "flac");

        Assert.Equal(source.Samples, decoded.Samples);
    }

    [Fact]
    public async Task A_flac_stream_writes_frames_as_samples_arrive_not_only_at_the_end()
    {
        var source = await StreamedFormatTests.SourceAt(24000);
        var output = new ArrayBufferWriter<byte>();
        using var stream = new FlacEncoder().CreateStream(24000);

        stream.Begin(output);
        var header = output.WrittenCount;
        stream.Write(source.Samples.AsSpan(0, FlacEncoder.BlockSize * 3), output);

        Assert.True(header >= 42, $"header {header} bytes"); // "fLaC" and STREAMINFO
        Assert.True(output.WrittenCount > header, "no frame was written before the stream ended");
    }
}
