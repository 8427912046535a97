using System.Globalization;
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
        // Loud is not enough (noise and byte-swapped samples are loud): speech is voiced, at a speaking voice's pitch.
        var (f0, voiced) = AudioMeasures.Pitch(pcm.Samples, pcm.SampleRate);
        Assert.True(voiced > 0.3, $"only {voiced:P0} of the frames are voiced");
        Assert.InRange(f0, 80, 300);
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

    [Theory]
    [InlineData("en-us", 1.0, 1.0)]
    [InlineData("en-us", 1.2, 1.5)]
    [InlineData("es", 0.8, 0.5)]
    public async Task Output_is_sample_for_sample_the_espeak_ng_command_line_for_the_same_voice_rate_and_pitch(string voice, double speed, double pitch)
    {
        // The same library behind Debian's espeak-ng program: our binding must hand over its samples unchanged. The library
        // keeps state from one synthesis to the next, so both sides are the first synthesis of a fresh process (FreshEspeak).
        var ours = await FreshEspeak.Say(English, voice, speed, pitch);
        var (_, wav, _) = await ExternalTool.Run(
            "espeak-ng", "-v", voice, "-s", EspeakWorker.RateFor(speed).ToString(CultureInfo.InvariantCulture),
            "-p", EspeakWorker.PitchFor(pitch).ToString(CultureInfo.InvariantCulture), "--stdout", English);
        var theirs = Pcm.FromWav(wav);

        Assert.Equal(_engine.SampleRate, theirs.SampleRate);
        var comparison = AudioMeasures.Compare(theirs.Samples, ours);
        Assert.True(comparison.Identical, comparison.ToString());
        Assert.True(comparison.SameAudio, comparison.ToString());
    }

    [Fact]
    public async Task A_breathy_voice_variant_matches_the_command_line_up_to_its_breath_noise()
    {
        // Variants with "breath" (+f3) add noise from the C library's random numbers, which differ between processes:
        // the same length and a centred correlation near 1 (measured 0.996) is as close as two runs of espeak-ng get.
        var ours = await FreshEspeak.Say(Spanish, "es+f3");
        var (_, wav, _) = await ExternalTool.Run("espeak-ng", "-v", "es+f3", "--stdout", Spanish);

        var comparison = AudioMeasures.Compare(Pcm.FromWav(wav).Samples, ours);
        Assert.Equal(comparison.ExpectedLength, comparison.ActualLength);
        Assert.True(comparison.CentredCorrelation > 0.99, comparison.ToString());
    }

    [Fact]
    public async Task Pitch_raises_the_fundamental_frequency_and_keeps_the_duration()
    {
        var levels = new[] { 0.5, 1.0, 1.5, 2.0 };
        var clips = new List<short[]>();
        foreach (var pitch in levels)
        {
            clips.Add(await Say(English, "en-us", pitch: pitch));
        }

        var f0 = clips.Select(c => AudioMeasures.Pitch(c, _engine.SampleRate).MedianHz).ToArray();
        var report = string.Join(", ", levels.Select((p, i) => $"pitch {p}: {f0[i]:F0} Hz, {clips[i].Length} samples"));

        for (var i = 0; i < levels.Length; i++)
        {
            // espeak-ng's pitch leaves phoneme durations alone; what varies is the library's state between calls (pauses,
            // ~40 ms here), so 3 % of ~3.7 s holds every level while any time-scale trick would move it 25 % or more.
            Assert.True(Math.Abs(((double)clips[i].Length / clips[1].Length) - 1) < 0.03, report);
            if (i > 0)
            {
                // Each step of 0.5 (25 on espeak-ng's 0..100 scale) raises the median F0 by well over 10 %.
                Assert.True(f0[i] > f0[i - 1] * 1.1, report);
            }
        }

        Assert.True(f0[3] > f0[1] * 1.4, report);
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
