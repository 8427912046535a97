using System.Threading.Channels;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;
using MitTts.Speech.Audio;

namespace MitTts.Tests.Grains;

/// <summary>The engine's own thread gives its core up once a stream's first audio is out, so the thread that carries that audio on does
/// not wait for a core behind the engine; it does so once per stream, after the piece is in the output, and never on a pool thread.</summary>
public sealed class StreamedRenderingCoreTests
{
    private const int BufferSamples = 441;

    [Fact]
    public void The_engine_s_thread_gives_its_core_up_once_per_stream_after_the_first_piece_is_out()
    {
        var output = Channel.CreateUnbounded<SynthesisEvent>();
        using var stream = Stream(output.Writer);
        var piecesWhenGivenUp = new List<int>();
        stream.GiveUpCore = () => piecesWhenGivenUp.Add(output.Reader.Count);

        OnOwnThread(() =>
        {
            for (var i = 0; i < 20; i++)
            {
                stream.Write(new short[BufferSamples]);
            }
        });

        // Once, with the first piece already in the output, though 20 buffers went through and more pieces followed.
        Assert.Equal([1], piecesWhenGivenUp);
        Assert.True(output.Reader.Count > 1);

        // A new sentence of the same stream is not a new stream's first audio.
        stream.BeginSentence("And again.", 0, output.Writer, index: 1, progress: 0.5);
        OnOwnThread(() => stream.Write(new short[BufferSamples]));
        Assert.Single(piecesWhenGivenUp);
    }

    [Fact]
    public async Task A_pool_thread_writing_the_first_audio_keeps_its_core()
    {
        var output = Channel.CreateUnbounded<SynthesisEvent>();
        using var stream = Stream(output.Writer);
        var givenUp = 0;
        stream.GiveUpCore = () => givenUp++;

        await Task.Run(() => stream.Write(new short[BufferSamples]));

        Assert.Equal(1, output.Reader.Count);
        Assert.Equal(0, givenUp);
    }

    [Fact]
    public void Audio_held_for_the_caller_gives_nothing_up_until_a_piece_is_out()
    {
        var output = Channel.CreateUnbounded<SynthesisEvent>();
        using var stream = new StreamedRendering(AudioEncoders.Get("pcm"), 22050, 22050, gain: 1.0, AudioEncoderOptions.Default);
        stream.BeginSentence("Hello there.");
        var givenUp = 0;
        stream.GiveUpCore = () => givenUp++;

        // No output: the caller takes the audio itself, on its own thread, so the engine has handed nothing on.
        OnOwnThread(() => stream.Write(new short[BufferSamples]));
        Assert.Equal(0, givenUp);

        stream.TakePieces(0, sentenceComplete: false, 0, output.Writer);
        Assert.Equal(1, output.Reader.Count);
    }

    private static StreamedRendering Stream(ChannelWriter<SynthesisEvent> output)
    {
        var stream = new StreamedRendering(AudioEncoders.Get("pcm"), 22050, 22050, gain: 1.0, AudioEncoderOptions.Default);
        stream.BeginSentence("Hello there.", 0, output, index: 0, progress: 0);
        return stream;
    }

    /// <summary>Runs <paramref name="action"/> on a thread of its own, as the engine's worker is, and waits for it.</summary>
    private static void OnOwnThread(Action action)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw new InvalidOperationException("The writing thread failed.", failure);
        }
    }
}
