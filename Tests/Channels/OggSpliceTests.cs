using System.Buffers;
using System.Globalization;
using System.Text.RegularExpressions;
using MitTts.Grains.Channels;
using MitTts.Speech.Audio;
using MitTts.Tests.Speech.Audio;
using MitTts.Tests.Support;

namespace MitTts.Tests.Channels;

/// <summary>An Ogg/Opus stream cut after some pages and continued from a second rendering of the same speech whose pages fall elsewhere
/// (what a failover delivers) is still one valid logical stream of the source's length, as opusinfo reads it.</summary>
public sealed partial class OggSpliceTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(10)]
    [InlineData(25)]
    public async Task A_stream_continued_from_a_differently_paged_rendering_is_one_logical_stream_of_the_sources_length(int pagesKept)
    {
        const int rate = 24000;
        var source = await StreamedFormatTests.SourceAt(rate);
        var options = new AudioEncoderOptions(StreamId: "task_splice");
        var (first, _) = ChunkedEncoding.Encode(new OggOpusEncoder(), source.Samples, rate, options);
        var second = EncodeInChunks(source.Samples, rate, options, chunk: 1500);
        Assert.NotEqual(first, second);

        // The reader got the first rendering's first pages, then the replacement from its start, page-aligned pieces of a few pages.
        var cut = PageOffsets(first)[pagesKept];
        var state = OggSplice.Continue(first[..cut], new OggSplice.State(0, 0)).State;
        var received = new List<byte>(first[..cut]);
        state = state with { Replacing = true, SourceGranule = -1 };
        var offsets = PageOffsets(second);
        for (var p = 0; p < offsets.Count - 1; p += 4)
        {
            var piece = second[offsets[p]..offsets[Math.Min(p + 4, offsets.Count - 1)]];
            (var pages, state, _) = OggSplice.Continue(piece, state);
            received.AddRange(pages);
        }

        var info = await AudioDecoders.OpusInfo([.. received]);
        Assert.DoesNotContain("WARNING", info, StringComparison.Ordinal);
        Assert.DoesNotContain("New logical stream (#2", info, StringComparison.Ordinal);
        var length = PlaybackLength().Match(info);
        Assert.True(length.Success, info);
        var seconds = (60 * int.Parse(length.Groups[1].Value, CultureInfo.InvariantCulture)) + double.Parse(length.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.Equal(source.DurationSeconds, seconds, 0.0015);
    }

    [Fact]
    public void The_first_rendering_passes_through_unchanged_and_is_counted()
    {
        var samples = new short[24000];
        var (ogg, _) = ChunkedEncoding.Encode(new OggOpusEncoder(), samples, 24000);

        var (pages, state, kept) = OggSplice.Continue(ogg, new OggSplice.State(0, 0));

        Assert.Same(ogg, pages);
        Assert.Equal(1.0, kept);
        Assert.Equal(PageOffsets(ogg).Count - 1, state.Pages);
        Assert.Equal(AudioDecoders.OggPages(ogg)[^1].Granule, state.Granule);
    }

    private static byte[] EncodeInChunks(short[] samples, int rate, AudioEncoderOptions options, int chunk)
    {
        var output = new ArrayBufferWriter<byte>();
        using var stream = new OggOpusEncoder().CreateStream(rate, options);
        stream.Begin(output);
        for (var position = 0; position < samples.Length; position += chunk)
        {
            stream.Write(samples.AsSpan(position, Math.Min(chunk, samples.Length - position)), output);
        }

        stream.Complete(output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Where each page starts, and the stream's end last.</summary>
    private static List<int> PageOffsets(byte[] ogg)
    {
        var offsets = new List<int>();
        var offset = 0;
        while (offset < ogg.Length)
        {
            offsets.Add(offset);
            var segments = ogg[offset + 26];
            var body = 0;
            for (var s = 0; s < segments; s++)
            {
                body += ogg[offset + 27 + s];
            }

            offset += 27 + segments + body;
        }

        offsets.Add(ogg.Length);
        return offsets;
    }

    [GeneratedRegex(@"Playback length: (\d+)m:([\d.]+)s")]
    private static partial Regex PlaybackLength();
}
