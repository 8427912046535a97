using System.Threading.Channels;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;
using MitTts.Speech.Audio;

namespace MitTts.Tests.Grains;

/// <summary>A re-run of a streamed task after its silo died leaves out the bytes the owner already has; the samples each piece reports
/// are what its owner counts the task's duration from, so they must be exactly the samples in the bytes it sends, also when the cut
/// falls inside the piece that starts with the container's header (a WAV or G.711 WAV header is bytes, not samples).</summary>
public sealed class StreamedRenderingResumeTests
{
    private const int BufferSamples = 441;

    [Theory]
    [InlineData("mulaw", 8000, 1)]
    [InlineData("alaw", 8000, 1)]
    [InlineData("wav", 22050, 2)]
    public void A_re_run_cut_inside_the_piece_with_the_header_reports_exactly_the_samples_it_sends(string format, int rate, int bytesPerSample)
    {
        // The first run: its first piece (the header and one engine buffer) reached the owner, then the silo died.
        var had = Assert.Single(Run(format, rate, skipBytes: 0, buffers: 1));
        Assert.Equal(BufferSamples, had.Samples);
        Assert.True(had.HeaderBytes > 0);

        // The re-run made two buffers before its first take: the piece is cut at the byte the owner has.
        var rest = Assert.Single(Run(format, rate, skipBytes: had.Audio.Length, buffers: 2));
        Assert.Equal(had.Audio.Length, rest.Offset);
        Assert.Equal(0, rest.HeaderBytes);
        Assert.Equal(BufferSamples * bytesPerSample, rest.Audio.Length);
        Assert.Equal(BufferSamples, rest.Samples);

        // What the owner holds in all: the header, then every sample once, and as many samples counted as it holds.
        Assert.Equal(had.HeaderBytes + (2 * BufferSamples * bytesPerSample), had.Audio.Length + rest.Audio.Length);
        Assert.Equal(2 * BufferSamples, had.Samples + rest.Samples);
    }

    [Theory]
    [InlineData("mulaw", 8000)]
    [InlineData("wav", 22050)]
    public void A_re_run_cut_inside_the_header_sends_the_rest_of_it_and_counts_only_samples(string format, int rate)
    {
        var whole = Assert.Single(Run(format, rate, skipBytes: 0, buffers: 2));
        var cut = whole.HeaderBytes / 2;

        var rest = Assert.Single(Run(format, rate, skipBytes: cut, buffers: 2));
        Assert.Equal(whole.HeaderBytes - cut, rest.HeaderBytes);
        Assert.Equal(whole.Audio[cut..], rest.Audio);
        Assert.Equal(whole.Samples, rest.Samples);
    }

    [Fact]
    public void A_piece_split_below_the_large_object_heap_shares_its_samples_by_the_audio_bytes_of_each_part()
    {
        // 5 s of PCM WAV taken at once: three parts, the first of which starts with the 44-byte header.
        var pieces = Run("wav", 22050, skipBytes: 0, buffers: 250);

        Assert.Equal(3, pieces.Count);
        Assert.Equal([44, 0, 0], pieces.Select(p => p.HeaderBytes));
        Assert.All(pieces, piece => Assert.Equal((piece.Audio.Length - piece.HeaderBytes) / 2, piece.Samples));
    }

    /// <summary>One sentence of <paramref name="buffers"/> engine buffers, taken at once from a new stream that leaves out its first
    /// <paramref name="skipBytes"/> bytes.</summary>
    private static List<SentenceAudio> Run(string format, int rate, long skipBytes, int buffers)
    {
        using var stream = new StreamedRendering(AudioEncoders.Get(format), rate, rate, gain: 1.0, AudioEncoderOptions.Default);
        stream.BeginSentence("Hello there.", skipBytes);
        var buffer = new short[BufferSamples];
        for (var i = 0; i < buffers; i++)
        {
            for (var j = 0; j < buffer.Length; j++)
            {
                buffer[j] = (short)((i * BufferSamples) + j);
            }

            stream.Write(buffer);
        }

        var output = Channel.CreateUnbounded<SynthesisEvent>();
        stream.TakePieces(0, sentenceComplete: false, 0, output.Writer);
        var pieces = new List<SentenceAudio>();
        while (output.Reader.TryRead(out var piece))
        {
            pieces.Add((SentenceAudio)piece);
        }

        return pieces;
    }
}
