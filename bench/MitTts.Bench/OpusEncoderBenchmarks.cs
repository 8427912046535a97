using System.Buffers;
using BenchmarkDotNet.Attributes;
using Concentus;
using Concentus.Enums;
using MitTts.Speech.Audio;
using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Espeak;

namespace MitTts.Bench;

/// <summary>The Ogg/Opus stream over two codecs, Concentus (managed port) and libopus (native), on the same 10 s of
/// espeak-ng speech at 22050 Hz streamed in 20 ms chunks: resampling to 48 kHz and Ogg framing are the same code, so
/// the difference is the codec (issue 11, item 6).</summary>
[MemoryDiagnoser]
[MedianColumn]
[MinColumn]
public class OpusEncoderBenchmarks
{
    private const int EngineRate = 22050;
    private readonly ArrayBufferWriter<byte> _output = new(1 << 20);
    private short[] _speech = [];
    private OggOpusEncoder _encoder = null!;

    // "none": the same stream with a codec that does nothing, to show what resampling and Ogg framing cost alone.
    [Params("none", "concentus", "libopus")]
    public string Codec { get; set; } = "libopus";

    [Params(5, 10)]
    public int Complexity { get; set; } = 5;

    [GlobalSetup]
    public void Setup()
    {
        var engine = new EspeakEngine();
        using var pcm = new PcmBuffer();
        engine.SynthesizeAsync(new SpeechRequest(AudioEncoderBenchmarks.Text, "en-us"), pcm).GetAwaiter().GetResult();
        var utterance = StreamingResampler.ResampleWhole(pcm.Samples, engine.SampleRate, EngineRate);

        // Ten seconds of speech: the utterance repeated, as a long answer of an agent would be.
        _speech = new short[10 * EngineRate];
        for (var position = 0; position < _speech.Length; position += utterance.Length)
        {
            utterance.AsSpan(0, Math.Min(utterance.Length, _speech.Length - position)).CopyTo(_speech.AsSpan(position));
        }

        var complexity = Complexity;
        _encoder = Codec switch
        {
            "none" => new OggOpusEncoder(_ => new SilentFrameEncoder()),
            "concentus" => new OggOpusEncoder(bitrateKbps => new ConcentusFrameEncoder(bitrateKbps, complexity)),
            _ => new OggOpusEncoder(MitTts.Speech.Audio.OpusApplication.Audio, complexity),
        };
    }

    [Benchmark(Description = "ogg/opus 10 s, 22050 Hz in 20 ms chunks")]
    public int Encode()
    {
        _output.ResetWrittenCount();
        var chunk = EngineRate / 50;
        using var stream = _encoder.CreateStream(EngineRate, new AudioEncoderOptions(StreamId: "bench"));
        stream.Begin(_output);
        for (var position = 0; position < _speech.Length; position += chunk)
        {
            stream.Write(_speech.AsSpan(position, Math.Min(chunk, _speech.Length - position)), _output);
        }

        stream.Complete(_output);
        return _output.WrittenCount;
    }

    /// <summary>The managed codec the server used before libopus, with the settings it had then.</summary>
    private sealed class ConcentusFrameEncoder : IOpusFrameEncoder
    {
        private readonly IOpusEncoder _opus;

        public ConcentusFrameEncoder(int bitrateKbps, int complexity)
        {
            _opus = OpusCodecFactory.CreateEncoder(OggOpusEncoder.OpusRate, 1, Concentus.Enums.OpusApplication.OPUS_APPLICATION_AUDIO);
            _opus.Bitrate = bitrateKbps * 1000;
            _opus.SignalType = OpusSignal.OPUS_SIGNAL_VOICE;
            _opus.Complexity = complexity;
            Lookahead = _opus.Lookahead;
        }

        public int Lookahead { get; }

        public string Vendor => "Concentus";

        public int Encode(ReadOnlySpan<short> frame, Span<byte> packet) => _opus.Encode(frame, frame.Length, packet, packet.Length);

        public void Dispose() => _opus.Dispose();
    }

    /// <summary>A codec that writes one byte per frame (an Opus packet header alone): the stream's cost without a codec.</summary>
    private sealed class SilentFrameEncoder : IOpusFrameEncoder
    {
        public int Lookahead => 312;

        public string Vendor => "none";

        public int Encode(ReadOnlySpan<short> frame, Span<byte> packet)
        {
            packet[0] = 0xF8;
            return 1;
        }

        public void Dispose()
        {
        }
    }
}
