using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;
using MitTts.Speech.Audio;

namespace MitTts.Tests.Grains;

/// <summary>How a streamed task's audio is cut into pieces: the first at once, then one per <see cref="StreamedRendering.LeadPiece"/>
/// of new audio while the listener holds less than <see cref="StreamedRendering.MinimumLead"/>, and at most one per
/// <see cref="StreamedRendering.PieceInterval"/> past that, so a fast engine's sentence is not sent as one piece per engine buffer; each
/// piece goes to the sentence's output from the thread that made it ready. The clock is a <see cref="FakeTimeProvider"/>: the tests
/// move it. A buffer is 20 ms of audio.</summary>
public sealed class StreamedRenderingTests : IDisposable
{
    private const int Rate = 22050;
    private const int BufferSamples = 441;

    // Buffers in a lead piece (100 ms).
    private const int PerLeadPiece = 5;

    // The first buffer and three lead pieces: 320 ms, more than StreamedRendering.MinimumLead (250 ms).
    private const int Lead = 1 + (3 * PerLeadPiece);

    private readonly FakeTimeProvider _clock = new();
    private readonly StreamedRendering _stream;
    private readonly Channel<SynthesisEvent> _output = Channel.CreateUnbounded<SynthesisEvent>();
    private int _next;

    public StreamedRenderingTests()
    {
        _stream = new StreamedRendering(AudioEncoders.Get("pcm"), Rate, Rate, gain: 1.0, AudioEncoderOptions.Default, time: _clock);
        _stream.BeginSentence("Hello there.", 0, _output.Writer, index: 2, progress: 0.25);
    }

    [Fact]
    public void The_first_audio_goes_out_at_once_as_a_piece_of_the_sentence_being_spoken()
    {
        WriteBuffers(1);

        var piece = Assert.Single(Given());
        Assert.Equal(Expected(0, 1), piece.Audio);
        Assert.Equal((2, 0L, BufferSamples, false), (piece.Sentence, piece.Offset, (int)piece.Samples, piece.SentenceComplete));
        Assert.Equal(0.25, piece.Progress);
    }

    [Fact]
    public void While_the_listener_holds_little_a_piece_goes_as_soon_as_a_lead_piece_of_audio_is_ready_with_no_timer_in_the_way()
    {
        WriteBuffers(1);
        Assert.Single(Given());

        WriteBuffers(PerLeadPiece - 1);
        Assert.Empty(Given());
        WriteBuffers(1);

        var second = Assert.Single(Given());
        Assert.Equal(Expected(BufferSamples, PerLeadPiece), second.Audio);
        Assert.Equal(BufferSamples * 2, second.Offset);
    }

    [Fact]
    public void Once_the_listener_holds_enough_new_audio_waits_for_the_interval_and_then_comes_whole_in_one_piece()
    {
        WriteBuffers(Lead);
        Assert.Equal(4, Given().Count);

        WriteBuffers(50);
        _clock.Advance(StreamedRendering.PieceInterval - TimeSpan.FromMilliseconds(1));
        Assert.Empty(Given());
        _clock.Advance(TimeSpan.FromMilliseconds(1));

        var next = Assert.Single(Given());
        Assert.Equal(BufferSamples * 2 * 50, next.Audio.Length);
        Assert.Equal(BufferSamples * 50, next.Samples);
        Assert.Equal(BufferSamples * 2 * Lead, next.Offset);
        Assert.Equal(Expected(BufferSamples * Lead, 50), next.Audio);
    }

    [Fact]
    public void When_the_listener_falls_below_the_lead_new_audio_goes_in_lead_pieces_again_without_waiting_for_the_interval()
    {
        WriteBuffers(Lead);
        Given();

        // 320 ms given out, 100 ms played: 220 ms left, under the minimum lead.
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        WriteBuffers(PerLeadPiece - 1);
        Assert.Empty(Given());
        WriteBuffers(1);

        Assert.Equal(BufferSamples * 2 * PerLeadPiece, Assert.Single(Given()).Audio.Length);
    }

    [Fact]
    public void Audio_made_after_the_interval_has_passed_goes_out_at_once()
    {
        WriteBuffers(Lead);
        Given();
        _clock.Advance(StreamedRendering.PieceInterval);

        WriteBuffers(1);

        Assert.Single(Given());
    }

    [Fact]
    public void The_sentence_s_end_takes_what_is_held_and_nothing_more_goes_out_on_its_own()
    {
        // The synthesizer takes the rest when the engine finishes a sentence, whether or not the interval has passed.
        WriteBuffers(Lead);
        Given();
        WriteBuffers(3);
        _stream.EndSentence();
        var rest = Assert.Single(TakeAll(sentenceComplete: true));
        Assert.Equal(BufferSamples * 2 * 3, rest.Audio.Length);
        Assert.True(rest.SentenceComplete);

        _clock.Advance(StreamedRendering.PieceInterval * 3);
        WriteBuffers(1);
        _clock.Advance(StreamedRendering.PieceInterval * 3);

        Assert.Empty(Given());
    }

    [Fact]
    public void Without_an_output_audio_waits_for_the_caller_to_take_it()
    {
        using var whole = new StreamedRendering(AudioEncoders.Get("pcm"), Rate, Rate, gain: 1.0, AudioEncoderOptions.Default, time: _clock);
        whole.BeginSentence("Hi.");
        whole.Write(new short[BufferSamples]);
        _clock.Advance(StreamedRendering.PieceInterval * 3);

        Assert.Empty(Given());
        var output = Channel.CreateUnbounded<SynthesisEvent>();
        Assert.Equal(1, whole.TakePieces(0, sentenceComplete: true, 1.0, output.Writer));
    }

    [Fact]
    public void Disposing_a_rendering_that_holds_audio_stops_its_timer()
    {
        WriteBuffers(Lead);
        Given();
        WriteBuffers(2);
        _stream.Dispose();
        _clock.Advance(StreamedRendering.PieceInterval);

        Assert.Empty(Given());
        Assert.Empty(TakeAll(sentenceComplete: false));
        Assert.Throws<ObjectDisposedException>(() => WriteBuffers(1));
    }

    public void Dispose() => _stream.Dispose();

    [Fact]
    public void A_sentence_larger_than_a_piece_goes_as_equal_pieces_below_the_large_object_heap_in_order_with_its_words_and_end_last()
    {
        // 5 s of PCM (220,500 bytes), taken at the sentence's end (no output attached): three pieces of 73,500 bytes.
        _stream.BeginSentence("Hello there.");
        var buffers = 250;
        _stream.Word(0, 5, 0);
        WriteBuffers(buffers);
        _stream.EndSentence();

        var pieces = TakeAll(sentenceComplete: true);

        Assert.Equal(3, pieces.Count);
        Assert.All(pieces, piece =>
        {
            Assert.InRange(piece.Audio.Length, 1, StreamedRendering.MaxPieceBytes);
            Assert.Equal(0, piece.Audio.Length % 2);
            Assert.NotEqual(2, GC.GetGeneration(piece.Audio));
        });
        Assert.Equal(Expected(0, buffers), pieces.SelectMany(p => p.Audio).ToArray());
        Assert.Equal([0L, pieces[0].Audio.Length, pieces[0].Audio.Length + pieces[1].Audio.Length], pieces.Select(p => p.Offset));
        Assert.Equal(BufferSamples * buffers, pieces.Sum(p => p.Samples));
        Assert.All(pieces, piece => Assert.Equal(piece.Audio.Length / 2, piece.Samples));
        Assert.Equal([false, false, true], pieces.Select(p => p.SentenceComplete));
        Assert.Equal([false, false, true], pieces.Select(p => p.Words is { Count: 1 }));
    }

    /// <summary>The pieces that went to the sentence's output since the last look.</summary>
    private List<SentenceAudio> Given()
    {
        var pieces = new List<SentenceAudio>();
        while (_output.Reader.TryRead(out var piece))
        {
            pieces.Add((SentenceAudio)piece);
        }

        return pieces;
    }

    private List<SentenceAudio> TakeAll(bool sentenceComplete)
    {
        var output = Channel.CreateUnbounded<SynthesisEvent>();
        var written = _stream.TakePieces(0, sentenceComplete, 0, output.Writer);
        var pieces = new List<SentenceAudio>();
        while (output.Reader.TryRead(out var piece))
        {
            pieces.Add((SentenceAudio)piece);
        }

        Assert.Equal(written, pieces.Count);
        return pieces;
    }

    private void WriteBuffers(int count)
    {
        var buffer = new short[BufferSamples];
        for (var i = 0; i < count; i++)
        {
            for (var j = 0; j < buffer.Length; j++)
            {
                buffer[j] = Ramp(_next++);
            }

            _stream.Write(buffer);
        }
    }

    /// <summary>The bytes of <paramref name="buffers"/> buffers written after the first one (sample values count up from there).</summary>
    private static byte[] Expected(int start, int buffers)
    {
        var samples = new short[BufferSamples * buffers];
        for (var i = 0; i < samples.Length; i++)
        {
            samples[i] = Ramp(start + i);
        }

        return MemoryMarshal.AsBytes(samples.AsSpan()).ToArray();
    }

    /// <summary>The n-th sample written: a ramp that wraps inside the peak ceiling, so a gain of 1 passes it unchanged.</summary>
    private static short Ramp(int n) => (short)((n % 20_000) - 10_000);
}
