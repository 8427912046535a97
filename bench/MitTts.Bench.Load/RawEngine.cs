using System.Buffers;
using System.Diagnostics;
using System.Threading.Channels;
using MitTts.Speech.Audio;
using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Espeak;

namespace MitTts.Bench.Load;

/// <summary>The reference every server figure is compared with: espeak-ng called directly in this process (and, for encoded
/// formats, its PCM fed through the same streaming encoder the server uses), with no server, grain or socket in between.</summary>
internal static class RawEngine
{
    public const string EngineVoice = "en-us";

    /// <summary>The name of the engine's thread, here and in the server (espeak-ng's worker), for reading its CPU time.</summary>
    public const string EngineThread = "espeak-ng";

    private static readonly EspeakEngine s_engine = new();

    public static int SampleRate => s_engine.SampleRate;

    /// <summary>Milliseconds from the call to the first engine buffer having passed the encoder (for <c>pcm</c>: to the first
    /// engine buffer), the encoder stream's creation included, as the server creates one per task.</summary>
    public static async Task<double> FirstAudio(string text, string format)
    {
        var started = Stopwatch.GetTimestamp();
        using var sink = new EncodingSink(format, SampleRate);
        await s_engine.SynthesizeAsync(new SpeechRequest(text, EngineVoice), sink);
        return Stopwatch.GetElapsedTime(started, sink.FirstAt).TotalMilliseconds;
    }

    /// <summary>Seconds of audio per wall second, engine and encoder on the engine's thread as in the server, for about
    /// <paramref name="duration"/>; two callers keep the engine's queue from running empty between requests.</summary>
    public static async Task<double> Throughput(IReadOnlyList<string> texts, string format, TimeSpan duration, int? bitrateKbps = null)
    {
        long samples = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 2).Select(worker => Task.Run(async () =>
        {
            for (var i = worker; clock.Elapsed < duration; i += 2)
            {
                using var sink = new EncodingSink(format, SampleRate, bitrateKbps);
                await s_engine.SynthesizeAsync(new SpeechRequest(texts[i % texts.Count], EngineVoice), sink);
                sink.Complete();
                Interlocked.Add(ref samples, sink.Samples);
            }
        })));
        return samples / (double)SampleRate / clock.Elapsed.TotalSeconds;
    }

    /// <summary>One sentence's audio as a zero-cost server would stream it: the engine's request queued behind the others on its one
    /// thread, and each buffer, through the encoder, handed out with the time it was ready (Stopwatch ticks).</summary>
    public static async IAsyncEnumerable<AudioPiece> Stream(string text, string format, int? bitrateKbps = null)
    {
        var pieces = Channel.CreateUnbounded<AudioPiece>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var speaking = Speak();
        await foreach (var piece in pieces.Reader.ReadAllAsync())
        {
            yield return piece;
        }

        await speaking;

        async Task Speak()
        {
            using var sink = new EncodingSink(format, SampleRate, bitrateKbps, pieces.Writer);
            try
            {
                await s_engine.SynthesizeAsync(new SpeechRequest(text, EngineVoice), sink);
                sink.Complete();
            }
            finally
            {
                pieces.Writer.TryComplete();
            }
        }
    }

    /// <summary>PCM sink that encodes as the server's streamed rendering does and notes when the first buffer was through; when given
    /// a writer, it also hands each batch of output on, as the server does.</summary>
    private sealed class EncodingSink : IPcmSink, IDisposable
    {
        private readonly IAudioEncoderStream? _encoder;
        private readonly ArrayBufferWriter<byte> _output = new(16 * 1024);
        private readonly ChannelWriter<AudioPiece>? _pieces;

        public EncodingSink(string format, int engineRate, int? bitrateKbps = null, ChannelWriter<AudioPiece>? pieces = null)
        {
            _pieces = pieces;
            if (format != "pcm")
            {
                // At the bitrate the server is asked for: a lower one costs the encoder less.
                var encoder = AudioEncoders.Get(format);
                _encoder = encoder.CreateStream(encoder.RequiredSampleRate ?? engineRate, new AudioEncoderOptions(bitrateKbps));
                _encoder.Begin(_output);
            }
        }

        public long FirstAt { get; private set; }

        public long Samples { get; private set; }

        public void Write(ReadOnlySpan<short> samples)
        {
            if (_encoder is null)
            {
                _output.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(samples));
            }
            else
            {
                _encoder.Write(samples, _output);
            }

            Samples += samples.Length;
            if (FirstAt == 0)
            {
                FirstAt = Stopwatch.GetTimestamp();
            }

            // The server hands each batch on and starts the next one empty.
            HandOn();
        }

        public void Complete()
        {
            _encoder?.Complete(_output);
            HandOn();
        }

        private void HandOn()
        {
            if (_pieces is not null && _output.WrittenCount > 0)
            {
                _pieces.TryWrite(new AudioPiece(Stopwatch.GetTimestamp(), _output.WrittenSpan.ToArray()));
            }

            _output.ResetWrittenCount();
        }

        public void Dispose() => _encoder?.Dispose();
    }
}

/// <summary>Audio bytes as a stream's client got them, and when (Stopwatch ticks).</summary>
internal readonly record struct AudioPiece(long At, byte[] Bytes);
