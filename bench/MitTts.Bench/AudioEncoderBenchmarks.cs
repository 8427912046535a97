using System.Buffers;
using BenchmarkDotNet.Attributes;
using MitTts.Speech.Audio;
using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Espeak;

namespace MitTts.Bench;

/// <summary>How fast each format encodes real speech, streamed in 20 ms chunks as the WebSocket path will,
/// next to how fast espeak-ng produces that speech: the slowest of them limits a node's capacity.</summary>
[MemoryDiagnoser]
public class AudioEncoderBenchmarks
{
    public const string Text = "Conversational agents need their audio as soon as it is ready. The quick brown fox jumps over the lazy dog.";

    private readonly ArrayBufferWriter<byte> _output = new(1 << 20);
    private readonly EspeakEngine _engine = new();
    private short[] _speech = [];
    private int _rate;
    private IAudioEncoder _encoder = null!;

    [Params("wav", "pcm", "mp3", "ogg", "mulaw", "alaw")]
    public string Format { get; set; } = "wav";

    [GlobalSetup]
    public void Setup()
    {
        using var pcm = new PcmBuffer();
        _engine.SynthesizeAsync(new SpeechRequest(Text, "en-us"), pcm).GetAwaiter().GetResult();
        _encoder = AudioEncoders.Get(Format);
        _rate = _encoder.RequiredSampleRate ?? _engine.SampleRate;
        _speech = StreamingResampler.ResampleWhole(pcm.Samples, _engine.SampleRate, _rate);
    }

    [Benchmark(Description = "encode (20 ms chunks)")]
    public int Encode()
    {
        _output.ResetWrittenCount();
        var chunk = _rate / 50;
        using var stream = _encoder.CreateStream(_rate);
        stream.Begin(_output);
        for (var position = 0; position < _speech.Length; position += chunk)
        {
            stream.Write(_speech.AsSpan(position, Math.Min(chunk, _speech.Length - position)), _output);
        }

        stream.Complete(_output);
        return _output.WrittenCount;
    }
}

/// <summary>The raw engine on the same text: the baseline every format is compared with.</summary>
[MemoryDiagnoser]
public class EngineBenchmarks
{
    private readonly EspeakEngine _engine = new();

    [Benchmark(Description = "espeak-ng synthesis")]
    public async Task<int> Synthesize()
    {
        using var pcm = new PcmBuffer();
        await _engine.SynthesizeAsync(new SpeechRequest(AudioEncoderBenchmarks.Text, "en-us"), pcm);
        return pcm.Count;
    }
}
