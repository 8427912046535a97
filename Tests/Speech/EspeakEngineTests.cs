using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Espeak;
using MitTts.Tests.Support;

namespace MitTts.Tests.Speech;

public sealed class EspeakEngineTests
{
    private const string Spanish = "Hola, ¿qué tal? Esto es una prueba del motor de síntesis.";
    private const string English = "Hello there. This is a test of the speech engine, isn't it?";

    private readonly EspeakEngine _engine = new();

    private async Task<short[]> Say(string text, string voice, double speed = 1.0, double pitch = 1.0)
    {
        var sink = new CollectingSink();
        await _engine.SynthesizeAsync(new SpeechRequest(text, voice, speed, pitch), sink);
        return sink.Samples;
    }

    [Fact]
    public void Engine_reports_22050_Hz()
    {
        Assert.Equal(22050, _engine.SampleRate);
        Assert.True(EspeakEngine.Probe().Available);
    }

    [Theory]
    [InlineData(Spanish, "es+f3")]
    [InlineData(English, "en-us")]
    public async Task Text_becomes_audible_speech_at_22050_Hz(string text, string voice)
    {
        var pcm = new Pcm(await Say(text, voice), _engine.SampleRate, 1);

        Assert.InRange(pcm.DurationSeconds, 1.5, 10);
        Assert.True(pcm.Rms > 0.02, $"RMS {pcm.Rms} is near silence");
    }

    [Fact]
    public async Task Longer_text_gives_longer_audio()
    {
        var shortAudio = await Say("Hola.", "es");
        var longAudio = await Say("Hola. " + Spanish + " " + Spanish, "es");

        Assert.True(longAudio.Length > 3 * shortAudio.Length, $"{longAudio.Length} vs {shortAudio.Length}");
    }

    [Fact]
    public async Task Speed_changes_the_duration()
    {
        var normal = await Say(English, "en-us");
        var fast = await Say(English, "en-us", speed: 2.0);
        var slow = await Say(English, "en-us", speed: 0.5);

        Assert.True(fast.Length < normal.Length * 0.7, $"fast {fast.Length} vs normal {normal.Length}");
        Assert.True(slow.Length > normal.Length * 1.4, $"slow {slow.Length} vs normal {normal.Length}");
    }

    [Fact]
    public async Task Pitch_changes_the_sound_but_hardly_the_duration()
    {
        var normal = await Say(English, "en-us");
        var high = await Say(English, "en-us", pitch: 2.0);

        Assert.InRange((double)high.Length / normal.Length, 0.9, 1.1);
        Assert.True(Pcm.Correlation(normal, high) < 0.9);
    }

    [Fact]
    public async Task Output_matches_the_espeak_ng_command_line_for_the_same_voice()
    {
        // The same library behind Debian's espeak-ng program: our binding must hand over its samples unchanged.
        // espeak-ng keeps prosody state across calls (tens of ms after an aborted job), so only the first call
        // of a process is bit-identical: compare loudness envelopes over 100 ms frames.
        var ours = await Say(English, "en-us");
        var (_, wav, _) = await ExternalTool.Run("espeak-ng", "-v", "en-us", "--stdout", English);
        var theirs = Pcm.FromWav(wav);

        Assert.Equal(_engine.SampleRate, theirs.SampleRate);
        Assert.InRange((double)ours.Length / theirs.Samples.Length, 0.97, 1.03);
        var similarity = Pcm.EnvelopeCorrelation(ours, theirs.Samples, theirs.SampleRate, frameMs: 100);
        // Same speech scores 0.9 to 1 here; different speech about 0.7 (checked below), so 0.8 separates them.
        Assert.True(similarity > 0.8, $"envelope correlation {similarity}, lengths {ours.Length} vs {theirs.Samples.Length}");
    }

    [Fact]
    public async Task The_envelope_comparison_tells_different_speech_apart()
    {
        var hello = await Say(English, "en-us");
        var other = await Say("Completely different words are spoken in this other recording, at another length.", "en-us");

        var unlike = Pcm.EnvelopeCorrelation(hello, other, _engine.SampleRate, frameMs: 100);
        Assert.True(unlike < 0.8, $"different speech scored {unlike}");
    }

    [Fact]
    public async Task Many_threads_at_once_never_crash_and_each_gets_its_own_audio()
    {
        // Text i says "number" i + 1 times, so every caller's audio has a length of its own.
        var texts = Enumerable.Range(0, 24).Select(i => string.Join(' ', Enumerable.Repeat("number", i + 1)) + ".").ToArray();
        var expected = new short[texts.Length][];
        for (var i = 0; i < texts.Length; i++)
        {
            expected[i] = await Say(texts[i], "en-us");
        }

        using var start = new Barrier(texts.Length);
        var results = new short[texts.Length][];
        var threads = texts.Select((text, i) => new Thread(() =>
        {
            start.SignalAndWait();
            results[i] = Say(text, "en-us").GetAwaiter().GetResult();
        })).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }

        for (var i = 0; i < texts.Length; i++)
        {
            // espeak-ng's flutter moves lengths by a few ms between calls; one word more or less is hundreds of ms.
            var closest = Enumerable.Range(0, texts.Length).MinBy(j => Math.Abs(expected[j].Length - results[i].Length));
            Assert.Equal(i, closest);
            Assert.True(Pcm.EnvelopeCorrelation(expected[i], results[i], _engine.SampleRate, frameMs: 100) > 0.8, $"caller {i} got audio unlike its own text");
        }
    }

    [Fact]
    public async Task Cancellation_stops_the_engine_within_a_buffer()
    {
        using var cancellation = new CancellationTokenSource();
        var sink = new CancellingSink(cancellation, after: 3);
        var longText = string.Join(' ', Enumerable.Repeat(English, 40));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _engine.SynthesizeAsync(new SpeechRequest(longText, "en-us"), sink, cancellation.Token));

        Assert.Equal(3, sink.Buffers);
        // The engine is still usable afterwards.
        Assert.NotEmpty(await Say("Still here.", "en-us"));
    }

    [Fact]
    public async Task Unknown_engine_voice_fails_cleanly()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() => Say("Hello", "no-such-voice-xyz"));
        Assert.NotEmpty(await Say("Hello", "en-us"));
    }

    private sealed class CancellingSink(CancellationTokenSource cancellation, int after) : IPcmSink
    {
        public int Buffers { get; private set; }

        public void Write(ReadOnlySpan<short> samples)
        {
            if (++Buffers == after)
            {
                cancellation.Cancel();
            }
        }
    }
}
