using Microsoft.Extensions.Options;
using MitTts.Grains;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;
using MitTts.Grains.Voices;
using MitTts.Speech.Audio;
using MitTts.Speech.Engines;
using MitTts.Tests.Support;

namespace MitTts.Tests.Speech.Audio;

/// <summary>The renderer between engine and client: DSP for engines without native speed and pitch, rate, format, cache.</summary>
public sealed class SpeechRendererTests : IDisposable
{
    private readonly ToneEngine _engine = new();
    private readonly SpeechRenderer _renderer;

    public SpeechRendererTests()
    {
        var voices = new VoiceCatalog(Options.Create(new TtsOptions { ModelPath = Path.Combine(AppContext.BaseDirectory, "models") }));
        _renderer = new SpeechRenderer(new SpeechEngines([_engine]), voices, new AudioCache(100, 1 << 24));
    }

    public void Dispose() => _renderer.Dispose();

    private static SynthesisRequest Request(AudioFormat format = AudioFormat.Wav, double speed = 1.0, double pitch = 1.0, int? rate = null) =>
        new("Hello there.", "en-male-1", format, Priority.Normal, null, speed, pitch, rate);

    private async Task<AudioResult> Render(SynthesisRequest request)
    {
        if (_renderer.TryGetCached(request) is { } cached)
        {
            return cached;
        }

        var (voice, engine) = _renderer.Resolve(request);
        using var pcm = new PcmBuffer();
        await engine.SynthesizeAsync(SpeechRenderer.EngineRequest(request, voice, engine, request.Text), pcm);
        return _renderer.Finish(pcm.Samples, engine.SampleRate, request, engine);
    }

    [Fact]
    public async Task A_repeat_request_is_served_from_the_cache_with_identical_bytes_and_no_engine_call()
    {
        var first = await Render(Request(AudioFormat.Mp3));
        var second = await Render(Request(AudioFormat.Mp3));
        var otherFormat = await Render(Request(AudioFormat.Ogg));

        Assert.False(first.CacheHit);
        Assert.True(second.CacheHit);
        Assert.Equal(first.Data, second.Data);
        Assert.False(otherFormat.CacheHit);
        Assert.Equal(2, _engine.Calls);
    }

    [Fact]
    public async Task Engines_without_native_speed_and_pitch_get_them_applied_by_DSP_without_double_applying()
    {
        var normal = await Render(Request());
        var fast = await Render(Request(speed: 2.0));
        var high = await Render(Request(pitch: 1.5));
        var (voice, engine) = _renderer.Resolve(Request(speed: 2.0));

        Assert.Equal(1.0, SpeechRenderer.EngineRequest(Request(speed: 2.0, pitch: 1.5), voice, engine, "x").Speed);
        Assert.Equal(1.0, SpeechRenderer.EngineRequest(Request(speed: 2.0, pitch: 1.5), voice, engine, "x").Pitch);
        Assert.Equal(normal.DurationSeconds / 2, fast.DurationSeconds, normal.DurationSeconds * 0.02);
        Assert.Equal(normal.DurationSeconds, high.DurationSeconds, normal.DurationSeconds * 0.02);
        var highPcm = Pcm.FromWav(high.Data);
        Assert.Equal(ToneEngine.Frequency * 1.5, AudioMeasures.ZeroCrossingFrequency(highPcm.Samples[2000..^2000], highPcm.SampleRate), 10.0);
    }

    [Fact]
    public async Task Output_is_at_the_requested_rate_and_G711_defaults_to_8_kHz()
    {
        var wav = await Render(Request(rate: 48000));
        var mulaw = await Render(Request(AudioFormat.Mulaw));

        Assert.Equal(48000, wav.SampleRate);
        Assert.Equal(48000, Pcm.FromWav(wav.Data).SampleRate);
        Assert.Equal(8000, mulaw.SampleRate);
        Assert.Equal(wav.DurationSeconds, mulaw.DurationSeconds, 0.001);
    }

    /// <summary>A 200 Hz tone, one second per request, claiming the espeak-ng name so catalogue voices resolve to it.</summary>
    private sealed class ToneEngine : ISpeechEngine
    {
        public const double Frequency = 200;

        public int Calls;

        public string Name => "espeak-ng";

        public int SampleRate => 22050;

        public bool AppliesSpeedAndPitch => false;

        public bool AppliesSpeed => false;

        public Task SynthesizeAsync(SpeechRequest request, IPcmSink sink, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Calls);
            var tone = new short[SampleRate];
            for (var i = 0; i < tone.Length; i++)
            {
                tone[i] = (short)(6000 * Math.Sin(2 * Math.PI * Frequency * i / SampleRate));
            }

            sink.Write(tone);
            return Task.CompletedTask;
        }
    }
}
