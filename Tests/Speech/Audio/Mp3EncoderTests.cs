using System.Buffers;
using MitTts.Speech.Audio;
using MitTts.Tests.Support;
using Xunit.Abstractions;

namespace MitTts.Tests.Speech.Audio;

/// <summary>MP3 through libmp3lame: a whole file decodes to exactly the source's length; a live stream adds only the codec delay.</summary>
public sealed class Mp3EncoderTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(8000)]
    [InlineData(16000)]
    [InlineData(22050)]
    [InlineData(24000)]
    [InlineData(44100)]
    [InlineData(48000)]
    public async Task Mp3_file_decodes_to_the_source_duration_in_ffmpeg_ffprobe_and_NLayer(int rate)
    {
        var source = await StreamedFormatTests.SourceAt(rate);

        // Written in uneven chunks, but told the length up front, as the REST path encodes.
        var (mp3, starts) = ChunkedEncoding.Encode(new Mp3Encoder(), source.Samples, rate, new AudioEncoderOptions(TotalSamples: source.Samples.Length));
        var probe = await ExternalTool.Ffprobe(mp3, "mp3");
        var ffmpeg = await AudioDecoders.Ffmpeg(mp3, "mp3");
        var nlayer = AudioDecoders.Nlayer(mp3);
        var ffmpegMatch = AudioMeasures.EnvelopeMatch(source, ffmpeg);
        var nlayerMatch = AudioMeasures.EnvelopeMatch(source, nlayer);
        output.WriteLine($"mp3@{rate}: source {source.DurationSeconds:0.0000}s; ffprobe {probe.DurationSeconds:0.0000}s; ffmpeg {ffmpeg.DurationSeconds:0.0000}s r={ffmpegMatch.Correlation:0.000} lag={ffmpegMatch.LagMs}ms; NLayer {nlayer.DurationSeconds:0.0000}s r={nlayerMatch.Correlation:0.000} lag={nlayerMatch.LagMs}ms");

        var gapless = AudioDecoders.LameGapless(mp3);
        Assert.Equal(("mp3", "mp3", rate, 1), (probe.FormatName, probe.CodecName, probe.SampleRate, probe.Channels));
        Assert.Equal((rate, 1), (nlayer.SampleRate, nlayer.Channels));
        Assert.Equal(576, gapless?.Delay);

        // Decoders that honour the LAME tag give back exactly the source's samples.
        Assert.InRange(ffmpeg.DurationSeconds, source.DurationSeconds * 0.98, source.DurationSeconds * 1.02);
        Assert.InRange(nlayer.DurationSeconds, source.DurationSeconds * 0.98, source.DurationSeconds * 1.02);
        Assert.True(ffmpegMatch.Correlation > 0.95, $"ffmpeg envelope correlation {ffmpegMatch.Correlation}");
        Assert.InRange(ffmpegMatch.LagMs, -10, 10);
        if (rate > 8000)
        {
            // NLayer lags by the filterbank's 529 samples; it does not decode MPEG-2.5 (8 kHz) faithfully, ffmpeg covers that rate.
            Assert.True(nlayerMatch.Correlation > 0.95, $"NLayer envelope correlation {nlayerMatch.Correlation}");
            Assert.InRange(nlayerMatch.LagMs, -10, 10 + (529 * 1000 / rate));
        }

        // ffprobe's container duration counts whole frames (tag delay and padding included); within 2% from 16 kHz up.
        var wholeFrames = source.DurationSeconds + ((gapless!.Value.Delay + gapless.Value.Padding) / (double)rate);
        Assert.Equal(wholeFrames, probe.DurationSeconds, 0.002);
        if (rate >= 16000)
        {
            Assert.InRange(probe.DurationSeconds, source.DurationSeconds * 0.98, source.DurationSeconds * 1.02);
        }

        Assert.Empty(AudioMeasures.Clicks(ffmpeg.Samples, AudioMeasures.AtRate(starts.Skip(1), rate, rate)));
    }

    [Theory]
    [InlineData(16000)]
    [InlineData(22050)]
    [InlineData(44100)]
    public async Task Mp3_live_stream_decodes_to_the_source_delayed_only_by_the_codec(int rate)
    {
        var source = await StreamedFormatTests.SourceAt(rate);

        var (mp3, _) = ChunkedEncoding.Encode(new Mp3Encoder(), source.Samples, rate);
        var decoded = await AudioDecoders.Ffmpeg(mp3, "mp3");
        var (correlation, lagMs) = AudioMeasures.EnvelopeMatch(source, decoded, maxLagMs: 200);
        output.WriteLine($"mp3 stream@{rate}: source {source.DurationSeconds:0.0000}s; ffmpeg {decoded.DurationSeconds:0.0000}s r={correlation:0.000} lag={lagMs}ms");

        // Without a length tag a decoder keeps lame's 576-sample delay, its own 529, and the last frame's padding.
        var samplesPerFrame = rate >= 32000 ? 1152 : 576;
        var codecDelayMs = (576 + 529) * 1000.0 / rate;
        Assert.InRange(decoded.Samples.Length, source.Samples.Length, source.Samples.Length + 576 + 529 + (2 * samplesPerFrame));
        Assert.True(correlation > 0.95, $"envelope correlation {correlation}");
        Assert.InRange(lagMs, codecDelayMs - 15, codecDelayMs + 15);
    }

    [Fact]
    public async Task Mp3_bitrate_is_selectable_and_constant()
    {
        var source = await StreamedFormatTests.SourceAt(44100);

        async Task<(int Bytes, string Rate)> Encode(int kbps)
        {
            var writer = new ArrayBufferWriter<byte>();
            new Mp3Encoder().EncodeWhole(source.Samples, 44100, writer, new AudioEncoderOptions(kbps));
            var mp3 = writer.WrittenSpan.ToArray();
            var (bitrate, _, _) = await ExternalTool.Run("ffprobe", "-v", "error", "-show_entries", "stream=bit_rate", "-of", "csv=p=0", await WriteTemp(mp3));
            return (mp3.Length, bitrate.Trim());
        }

        var low = await Encode(32);
        var high = await Encode(128);

        Assert.Equal("32000", low.Rate);
        Assert.Equal("128000", high.Rate);
        Assert.InRange((double)high.Bytes / low.Bytes, 3.6, 4.4);
    }

    private static async Task<string> WriteTemp(byte[] bytes)
    {
        var path = Path.Combine(Path.GetTempPath(), $"mittts-{Guid.NewGuid():N}.mp3");
        await File.WriteAllBytesAsync(path, bytes);
        return path;
    }
}
