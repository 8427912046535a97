using System.Buffers;
using MitTts.Speech.Audio;
using MitTts.Tests.Support;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace MitTts.Tests.Speech.Audio;

/// <summary>AAC-LC in ADTS by libavcodec: pieces encoded one after another are one stream that ffprobe and ffmpeg read whole.</summary>
public sealed class AacEncoderTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(8000)]
    [InlineData(24000)]
    [InlineData(48000)]
    public async Task Aac_pieces_encoded_one_after_another_decode_to_one_stream_of_the_exact_sample_count(int rate)
    {
        var source = await StreamedFormatTests.SourceAt(rate);

        var (bytes, _) = ChunkedEncoding.Encode(new AacEncoder(), source.Samples, rate);

        await AssertOneAdtsStream(bytes, source, output);
    }

    [Fact]
    public async Task A_stream_with_a_frame_lost_or_a_header_broken_fails_the_check()
    {
        var source = await StreamedFormatTests.SourceAt(24000);
        var (bytes, _) = ChunkedEncoding.Encode(new AacEncoder(), source.Samples, 24000);
        var frames = AdtsFrames(bytes);
        var (start, length) = frames[frames.Count / 2];
        var lost = bytes[..start].Concat(bytes[(start + length)..]).ToArray();
        var broken = bytes.ToArray();
        broken[start + 3] ^= 0x02; // the frame length's top bit: the header no longer points at the next one

        await Assert.ThrowsAnyAsync<XunitException>(() => AssertOneAdtsStream(lost, source, output));
        await Assert.ThrowsAnyAsync<XunitException>(() => AssertOneAdtsStream(broken, source, output));
    }

    [Fact]
    public async Task A_streamed_aac_is_byte_for_byte_the_whole_file()
    {
        var source = await StreamedFormatTests.SourceAt(22050);
        var whole = new ArrayBufferWriter<byte>();
        new AacEncoder().EncodeWhole(source.Samples, 22050, whole);

        var (streamed, _) = ChunkedEncoding.Encode(new AacEncoder(), source.Samples, 22050);

        // A re-run after a failover is cut at the byte (ChannelItem.Take): the encoder must give the same bytes for the same audio.
        Assert.Equal(whole.WrittenSpan.ToArray(), streamed);
    }

    [Fact]
    public async Task An_aac_stream_writes_frames_as_samples_arrive_not_only_at_the_end()
    {
        var source = await StreamedFormatTests.SourceAt(24000);
        var written = new ArrayBufferWriter<byte>();
        using var stream = new AacEncoder().CreateStream(24000);

        stream.Begin(written);
        stream.Write(source.Samples.AsSpan(0, AacEncoder.FrameSize * 4), written);

        Assert.True(written.WrittenCount > 0, "no frame was written before the stream ended");
        Assert.All(AdtsFrames(written.WrittenSpan.ToArray()), f => Assert.True(f.Length > 7));
    }

    [Fact]
    public async Task Aac_bitrate_changes_the_size_and_a_rate_aac_lacks_is_refused()
    {
        var source = await StreamedFormatTests.SourceAt(24000);
        var low = new ArrayBufferWriter<byte>();
        var high = new ArrayBufferWriter<byte>();

        new AacEncoder().EncodeWhole(source.Samples, 24000, low, new AudioEncoderOptions(BitrateKbps: 24));
        new AacEncoder().EncodeWhole(source.Samples, 24000, high, new AudioEncoderOptions(BitrateKbps: 128));

        Assert.True(high.WrittenCount > low.WrittenCount * 2, $"128 kbps: {high.WrittenCount} bytes, 24 kbps: {low.WrittenCount} bytes");
        Assert.Throws<ArgumentOutOfRangeException>(() => new AacEncoder().CreateStream(9000));
    }

    /// <summary>How many samples a decoder gives back for <paramref name="samples"/> encoded: the 1024 of priming in front, the
    /// last frame padded to 1024.</summary>
    public static long DecodedSamples(long samples) => (samples + AacEncoder.Priming + AacEncoder.FrameSize - 1) / AacEncoder.FrameSize * AacEncoder.FrameSize;

    /// <summary><see cref="DecodedSamples"/> for <paramref name="seconds"/> of audio at <paramref name="rate"/>, in seconds.</summary>
    public static double DecodedSeconds(double seconds, int rate) => (double)DecodedSamples((long)Math.Round(seconds * rate)) / rate;

    /// <summary>Checks <paramref name="bytes"/> is one ADTS stream of <paramref name="source"/>: headers that chain to the end, one
    /// frame per 1024 samples, and ffmpeg decoding exactly <c>1024 × ceil((n + 1024) / 1024)</c> samples (1024 of priming in front, the
    /// last frame padded) whose loudness follows the source's, 1024 samples late.</summary>
    private static async Task AssertOneAdtsStream(byte[] bytes, Pcm source, ITestOutputHelper output)
    {
        var rate = source.SampleRate;
        var expectedFrames = (int)(DecodedSamples(source.Samples.Length) / AacEncoder.FrameSize);
        var frames = AdtsFrames(bytes);
        var probe = await ExternalTool.Ffprobe(bytes, "aac");
        var decoded = await AudioDecoders.Ffmpeg(bytes, "aac");
        var (correlation, lagMs) = AudioMeasures.EnvelopeMatch(source, decoded, maxLagMs: 200); // 1024 samples: 128 ms at 8 kHz
        output.WriteLine($"aac@{rate}: {bytes.Length} bytes, {frames.Count} frames, decoded {decoded.Samples.Length} samples of {source.Samples.Length}; r={correlation:0.000} lag={lagMs} ms");

        Assert.Equal(expectedFrames, frames.Count);
        Assert.Equal(("aac", "aac", rate, 1), (probe.FormatName, probe.CodecName, probe.SampleRate, probe.Channels));
        Assert.Equal((rate, 1), (decoded.SampleRate, decoded.Channels));
        Assert.Equal(expectedFrames * AacEncoder.FrameSize, decoded.Samples.Length);
        Assert.True(correlation > 0.95, $"envelope correlation {correlation}");
        Assert.InRange(lagMs, (AacEncoder.Priming * 1000 / rate) - 10, (AacEncoder.Priming * 1000 / rate) + 10);
    }

    /// <summary>The ADTS frames of a stream, read by their headers from the first byte to the last: each must start with the
    /// sync word and state mono AAC-LC.</summary>
    private static List<(int Start, int Length)> AdtsFrames(byte[] bytes)
    {
        var frames = new List<(int, int)>();
        for (var at = 0; at < bytes.Length;)
        {
            Assert.True(at + 7 <= bytes.Length, $"a truncated header at byte {at}");
            Assert.True(bytes[at] == 0xFF && (bytes[at + 1] & 0xF6) == 0xF0, $"no ADTS sync word at byte {at}");
            Assert.Equal(1, bytes[at + 2] >> 6); // AAC-LC
            Assert.Equal(1, ((bytes[at + 2] & 1) << 2) | (bytes[at + 3] >> 6)); // mono
            var length = ((bytes[at + 3] & 3) << 11) | (bytes[at + 4] << 3) | (bytes[at + 5] >> 5);
            Assert.True(length > 7 && at + length <= bytes.Length, $"frame at byte {at} states {length} bytes");
            frames.Add((at, length));
            at += length;
        }

        return frames;
    }
}
