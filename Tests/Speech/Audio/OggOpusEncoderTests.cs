using MitTts.Speech.Audio;
using MitTts.Tests.Support;

namespace MitTts.Tests.Speech.Audio;

/// <summary>Ogg/Opus (libopus) as RFC 7845 lays it out, checked by opusinfo and ffmpeg, and by decoding with Concentus.</summary>
public sealed class OggOpusEncoderTests
{
    [Theory]
    [InlineData(16000)]
    [InlineData(22050)]
    [InlineData(48000)]
    public async Task Ogg_stream_passes_opusinfo_and_Concentus_decodes_it_to_the_source_duration(int rate)
    {
        var source = await StreamedFormatTests.SourceAt(rate);

        var (ogg, starts) = ChunkedEncoding.Encode(new OggOpusEncoder(), source.Samples, rate);
        var info = await AudioDecoders.OpusInfo(ogg);
        var decoded = AudioDecoders.Concentus(ogg);
        var (correlation, lagMs) = AudioMeasures.EnvelopeMatch(source, decoded);

        Assert.Contains($"Original sample rate: {rate} Hz", info, StringComparison.Ordinal);
        Assert.Contains("Page duration:    100.0ms (max)", info, StringComparison.Ordinal);
        var length = System.Text.RegularExpressions.Regex.Match(info, @"Playback length: (\d+)m:([\d.]+)s");
        Assert.True(length.Success, info);
        var playback = (60 * int.Parse(length.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
            + double.Parse(length.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(source.DurationSeconds, playback, 0.002);
        Assert.DoesNotContain("WARNING", info, StringComparison.Ordinal);
        Assert.InRange(decoded.DurationSeconds, source.DurationSeconds * 0.98, source.DurationSeconds * 1.02);
        Assert.True(correlation > 0.95, $"envelope correlation {correlation}");
        Assert.InRange(lagMs, -10, 10);
        Assert.Empty(AudioMeasures.Clicks(decoded.Samples, AudioMeasures.AtRate(starts.Skip(1), rate, decoded.SampleRate)));
    }

    [Fact]
    public async Task Ogg_pages_hold_at_most_100_ms_and_granules_count_48_kHz_samples_after_pre_skip()
    {
        var source = await StreamedFormatTests.SourceAt(24000);

        var (ogg, _) = ChunkedEncoding.Encode(new OggOpusEncoder(), source.Samples, 24000);
        var pages = AudioDecoders.OggPages(ogg);
        var preSkip = BitConverter.ToUInt16(pages[0].Packets[0], 10);

        Assert.Equal("OpusHead", System.Text.Encoding.ASCII.GetString(pages[0].Packets[0], 0, 8));
        Assert.Equal("OpusTags", System.Text.Encoding.ASCII.GetString(pages[1].Packets[0], 0, 8));
        Assert.Equal(0x02, pages[0].HeaderType);
        Assert.Equal(0x04, pages[^1].HeaderType);
        Assert.InRange(preSkip, 1, 3840);
        var previous = 0L;
        foreach (var page in pages.Skip(2))
        {
            Assert.InRange(page.Granule - previous, 1, 4800);
            previous = page.Granule;
        }

        Assert.Equal(preSkip + (source.Samples.Length * 2L), pages[^1].Granule);
    }

    [Fact]
    public async Task Each_write_flushes_a_page_so_audio_can_be_played_as_it_arrives()
    {
        var source = await StreamedFormatTests.SourceAt(48000);
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        using var stream = new OggOpusEncoder().CreateStream(48000);
        stream.Begin(output);
        var headers = output.WrittenCount;

        stream.Write(source.Samples.AsSpan(0, 4800), output);

        var pages = AudioDecoders.OggPages(output.WrittenSpan.ToArray());
        Assert.True(output.WrittenCount > headers);
        Assert.Equal(5, pages.Skip(2).Sum(p => p.Packets.Count));
    }

    [Fact]
    public async Task The_same_stream_id_gives_the_same_bytes_so_a_task_rendered_again_reproduces_its_stream()
    {
        var source = await StreamedFormatTests.SourceAt(22050);
        var options = new AudioEncoderOptions(StreamId: "task_0123456789abcdef");

        var (first, _) = ChunkedEncoding.Encode(new OggOpusEncoder(), source.Samples, 22050, options);
        var (again, _) = ChunkedEncoding.Encode(new OggOpusEncoder(), source.Samples, 22050, options);
        var (other, _) = ChunkedEncoding.Encode(new OggOpusEncoder(), source.Samples, 22050, options with { StreamId = "task_fedcba9876543210" });

        Assert.Equal(first, again);
        Assert.Equal(OggOpusEncoder.StableSerial("task_0123456789abcdef"), BitConverter.ToInt32(first, 14));
        Assert.NotEqual(BitConverter.ToInt32(first, 14), BitConverter.ToInt32(other, 14));
        Assert.Equal(first.Length, other.Length);
    }

    [Theory]
    [InlineData(OpusApplication.Audio, 16)]
    [InlineData(OpusApplication.Voip, 24)]
    public async Task Both_applications_make_streams_opusinfo_accepts_and_ffmpeg_decodes_at_the_asked_bitrate(OpusApplication application, int kbps)
    {
        var source = await StreamedFormatTests.SourceAt(16000);

        var (ogg, _) = ChunkedEncoding.Encode(new OggOpusEncoder(application, complexity: 10), source.Samples, 16000, new AudioEncoderOptions(kbps));
        var info = await AudioDecoders.OpusInfo(ogg);
        var decoded = await AudioDecoders.Ffmpeg(ogg, "ogg");
        var (correlation, _) = AudioMeasures.EnvelopeMatch(source, decoded);

        Assert.Contains("Encoded with MitTts (libopus)", info, StringComparison.Ordinal);
        Assert.DoesNotContain("WARNING", info, StringComparison.Ordinal);
        var payload = System.Text.RegularExpressions.Regex.Match(info, @"w/o overhead: ([\d.]+) kbit/s");
        Assert.True(payload.Success, info);
        Assert.InRange(double.Parse(payload.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), kbps * 0.6, kbps * 1.3);
        Assert.InRange(decoded.DurationSeconds, source.DurationSeconds * 0.98, source.DurationSeconds * 1.02);
        Assert.True(correlation > 0.95, $"envelope correlation {correlation}");
    }
}
