using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;
using MitTts.Speech.Audio;

namespace MitTts.Tests.Grains;

/// <summary>How a streamed task's audio is cut into pieces: at once while the listener holds little, then at most one per
/// <see cref="StreamedRendering.PieceInterval"/>, so a fast engine's sentence is not sent as one piece per engine buffer. The clock is a
/// <see cref="FakeTimeProvider"/>: the tests move it. A buffer is 20 ms of audio.</summary>
public sealed class StreamedRenderingTests : IDisposable
{
    private const int Rate = 22050;
    private const int BufferSamples = 441;

    // More than StreamedRendering.MinimumLead (250 ms) of audio.
    private const int Lead = 15;

    private readonly FakeTimeProvider _clock = new();
    private readonly StreamedRendering _stream;
    private short _next;

    public StreamedRenderingTests()
    {
        _stream = new StreamedRendering(AudioEncoders.Get("pcm"), Rate, Rate, gain: 1.0, AudioEncoderOptions.Default, time: _clock);
        _stream.BeginSentence("Hello there.");
    }

    [Fact]
    public void The_first_audio_wakes_the_synthesizer_at_once()
    {
        var waiting = _stream.WaitForAudioAsync();
        Assert.False(waiting.IsCompleted);

        WriteBuffers(1);

        Assert.True(waiting.IsCompleted);
    }

    [Fact]
    public void Once_the_listener_holds_enough_new_audio_waits_for_the_interval_and_then_comes_whole_in_one_piece()
    {
        WriteBuffers(Lead);
        var first = Take();
        var waiting = _stream.WaitForAudioAsync();

        WriteBuffers(50);
        Assert.False(waiting.IsCompleted);
        _clock.Advance(StreamedRendering.PieceInterval - TimeSpan.FromMilliseconds(1));
        Assert.False(waiting.IsCompleted);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(waiting.IsCompleted);

        var second = Take();
        Assert.Equal(BufferSamples * 2 * Lead, first.Audio.Length);
        Assert.Equal(BufferSamples * 2 * 50, second.Audio.Length);
        Assert.Equal(BufferSamples * 50, second.Samples);
        Assert.Equal(first.Audio.Length, second.Offset);
        Assert.Equal(Expected(BufferSamples * Lead, 50), second.Audio);
    }

    [Fact]
    public void While_the_listener_holds_little_new_audio_wakes_the_synthesizer_at_once()
    {
        WriteBuffers(Lead);
        Take();

        // 300 ms given out, 100 ms played: 200 ms left, under the minimum lead.
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        var waiting = _stream.WaitForAudioAsync();
        WriteBuffers(1);
        Assert.True(waiting.IsCompleted);
        Take();

        // A first piece of one buffer: the next buffer is not held either.
        using var other = new StreamedRendering(AudioEncoders.Get("pcm"), Rate, Rate, gain: 1.0, AudioEncoderOptions.Default, time: _clock);
        other.BeginSentence("Hi.");
        other.Write(new short[BufferSamples]);
        Assert.Equal(1, other.TakePieces(0, sentenceComplete: false, 0, Channel.CreateUnbounded<SynthesisEvent>().Writer));
        waiting = other.WaitForAudioAsync();
        other.Write(new short[BufferSamples]);
        Assert.True(waiting.IsCompleted);
    }

    [Fact]
    public void Audio_made_after_the_interval_has_passed_wakes_the_synthesizer_at_once()
    {
        WriteBuffers(Lead);
        Take();
        _clock.Advance(StreamedRendering.PieceInterval);
        var waiting = _stream.WaitForAudioAsync();

        WriteBuffers(1);

        Assert.True(waiting.IsCompleted);
    }

    [Fact]
    public void A_piece_taken_early_cancels_the_wake_up_held_for_its_audio()
    {
        // The synthesizer takes a piece when the engine finishes a sentence, whether or not the interval has passed.
        WriteBuffers(Lead);
        Take();
        WriteBuffers(3);
        var rest = Take();
        Assert.Equal(BufferSamples * 2 * 3, rest.Audio.Length);

        var waiting = _stream.WaitForAudioAsync();
        _clock.Advance(StreamedRendering.PieceInterval * 3);

        Assert.False(waiting.IsCompleted);
        Assert.Empty(TakeAll(sentenceComplete: false));
    }

    [Fact]
    public void Disposing_a_rendering_that_holds_audio_releases_its_waiter_and_its_timer()
    {
        WriteBuffers(Lead);
        Take();
        WriteBuffers(2);
        var waiting = _stream.WaitForAudioAsync();

        _stream.Dispose();
        Assert.True(waiting.IsCompleted);
        _clock.Advance(StreamedRendering.PieceInterval);

        Assert.Empty(TakeAll(sentenceComplete: false));
        Assert.Throws<ObjectDisposedException>(() => WriteBuffers(1));
    }

    public void Dispose() => _stream.Dispose();

    [Fact]
    public void A_sentence_larger_than_a_piece_goes_as_equal_pieces_below_the_large_object_heap_in_order_with_its_words_and_end_last()
    {
        // 5 s of PCM (220,500 bytes): three pieces of 73,500 bytes.
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

    private SentenceAudio Take()
    {
        var pieces = TakeAll(sentenceComplete: false);
        return Assert.Single(pieces);
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
                buffer[j] = _next++;
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
            // Counting wraps past 32767; the gain stage clamps -32768 to -32767.
            samples[i] = Math.Max((short)(short.MinValue + 1), (short)(start + i));
        }

        return MemoryMarshal.AsBytes(samples.AsSpan()).ToArray();
    }
}
