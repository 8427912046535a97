using System.Globalization;
using System.Buffers;
using System.Collections.Concurrent;
using CommunityToolkit.HighPerformance.Buffers;
using MitTts.Grains.Formats;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Voices;
using MitTts.Speech.Audio;
using MitTts.Speech.Engines;
using MitTts.Speech.Text;

namespace MitTts.Grains.Synthesis;

/// <summary>Turns engine PCM into the audio a request asked for; the synthesizer grain decides when the engine runs.</summary>
/// <remarks>The pipeline: speed and pitch (for engines that cannot), loudness normalization, resampling to the requested
/// rate, encoding; the result is kept in the <see cref="AudioCache"/>, so a repeat request never reaches the engine.</remarks>
public sealed class SpeechRenderer(SpeechEngines engines, VoiceCatalog voices, AudioCache cache) : IDisposable
{
    // Spoken once per voice to learn the gain a stream of that voice gets; a pangram covers most phonemes in any language.
    internal const string CalibrationText = "The quick brown fox jumps over the lazy dog. ¿Qué tal? Ça va bien.";

    private readonly ConcurrentDictionary<string, double> _streamGains = new(StringComparer.Ordinal);

    // Whole-file encodes of compressed formats take seconds for a long text (MP3, Ogg, FLAC, AAC): at most one fewer than the cores
    // run at once, each on a thread of its own, so they never hold the thread pool that sockets and grains run on.
    private readonly SemaphoreSlim _compressedEncodes = new(Math.Max(1, Environment.ProcessorCount - 1));

    /// <summary>The catalogue voice and the engine that speaks it on <paramref name="device"/> (<c>cpu:0</c>, <c>cuda:0</c>): espeak-ng is
    /// the same everywhere; a neural voice has its own sessions on each device.</summary>
    public (VoiceEntry Voice, ISpeechEngine Engine) Resolve(SynthesisRequest request, string device = "cpu:0")
    {
        ArgumentNullException.ThrowIfNull(request);
        var voice = voices.Find(request.VoiceId) ?? throw new InvalidOperationException($"Voice '{request.VoiceId}' is not in this silo's catalogue.");
        var engine = engines.For(voice, device) ?? throw new InvalidOperationException($"Engine '{voice.Engine}' is not available on this silo.");
        return (voice, engine);
    }

    /// <summary>The engine of the request's voice on <paramref name="device"/>; null when the voice or its engine is not here.</summary>
    public ISpeechEngine? EngineFor(SynthesisRequest request, string device)
    {
        ArgumentNullException.ThrowIfNull(request);
        return voices.Find(request.VoiceId) is { } voice ? engines.For(voice, device) : null;
    }

    /// <summary>The language of the request's voice (ISO 639-1), which sentence segmentation follows.</summary>
    public string? Language(SynthesisRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return voices.Find(request.VoiceId)?.Language;
    }

    /// <summary>The request's text cut into sentences by the rules of its voice's language: the unit of synthesis, preemption and failover.</summary>
    public IReadOnlyList<string> Sentences(SynthesisRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        // An SSML document is one unit: cutting it would cut its elements (espeak-ng reads its sentences itself).
        return request.Ssml ? [request.Text] : SentenceSegmenter.Split(request.Text, Language(request));
    }

    /// <summary>The engine request for <paramref name="text"/> (the whole request text, or one sentence of it).</summary>
    /// <remarks>Speed and pitch go to the engine only when it applies them itself; otherwise <see cref="Finish"/> does.</remarks>
    public static SpeechRequest EngineRequest(SynthesisRequest request, VoiceEntry voice, ISpeechEngine engine, string text)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(voice);
        ArgumentNullException.ThrowIfNull(engine);
        return new SpeechRequest(text, voice.EngineVoice, engine.AppliesSpeed ? request.Speed : 1.0, engine.AppliesSpeedAndPitch ? request.Pitch : 1.0, request.Ssml);
    }

    /// <summary>The cached audio of an identical earlier request, marked as a cache hit; null when there is none.</summary>
    public AudioResult? TryGetCached(SynthesisRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (voices.Find(request.VoiceId) is not { } voice || !cache.TryGet(CacheKey(request, voice), out var audio))
        {
            return null;
        }

        return new AudioResult(audio.Data, audio.ContentType, audio.FileExtension, audio.SampleRate, audio.DurationSeconds, CacheHit: true);
    }

    public void Dispose() => _compressedEncodes.Dispose();

    /// <summary><see cref="Finish"/> off the caller's thread: PCM, WAV and G.711 (cheap) on the thread pool; compressed formats on a
    /// thread of their own, at most one fewer than the cores at once (the rest wait their turn without holding a thread).</summary>
    /// <remarks>Uncapped on the pool, 15 long MP3 tasks finishing together stalled the pool for seconds: every live WebSocket stream
    /// froze (pings answered after 1.6 s) while the encodes ran.</remarks>
    public async Task<AudioResult> FinishOffThread(Func<AudioResult> finish, AudioFormat format)
    {
        ArgumentNullException.ThrowIfNull(finish);
        if (format is AudioFormat.Wav or AudioFormat.Pcm or AudioFormat.Mulaw or AudioFormat.Alaw)
        {
            return await Task.Run(finish, CancellationToken.None);
        }

        await _compressedEncodes.WaitAsync(CancellationToken.None);
        try
        {
            return await Task.Factory.StartNew(finish, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        finally
        {
            _compressedEncodes.Release();
        }
    }

    /// <summary>Processes and encodes the engine's PCM (at <paramref name="sampleRate"/>) into the requested format, and caches it.</summary>
    /// <remarks><paramref name="streamId"/>, a stable name of the task (its id), lets the encoder derive stream numbers (the Ogg
    /// serial) from it, so rendering the task again gives the same bytes; null: the encoder picks one.</remarks>
    public AudioResult Finish(ReadOnlySpan<short> pcm, int sampleRate, SynthesisRequest request, ISpeechEngine engine, string? streamId = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(engine);
        var voice = voices.Find(request.VoiceId) ?? throw new InvalidOperationException($"Voice '{request.VoiceId}' is not in this silo's catalogue.");
        var encoder = Encoder(request);

        // The working copies are pooled (a few seconds of speech is a large-object allocation each time, and collecting those cost a
        // quarter of a core under REST load); the finished file is the one array allocated, since it outlives this call.
        var (speed, pitch) = DspSpeedAndPitch(request, engine);
        var processed = speed == 1.0 && pitch == 1.0 ? null : SpeedPitchProcessor.Apply(pcm, sampleRate, speed, pitch);
        var input = processed ?? pcm;
        var working = ArrayPool<short>.Shared.Rent(input.Length);
        using var output = new ArrayPoolBufferWriter<byte>((input.Length * sizeof(short)) + 1024);
        short[]? resampled = null;
        try
        {
            var samples = working.AsSpan(0, input.Length);
            input.CopyTo(samples);
            LoudnessNormalizer.Normalize(samples);

            var outputRate = OutputRate(request, encoder, sampleRate);
            if (outputRate != sampleRate)
            {
                resampled = ArrayPool<short>.Shared.Rent(StreamingResampler.WholeLength(samples.Length, sampleRate, outputRate));
                samples = resampled.AsSpan(0, StreamingResampler.ResampleWhole(samples, sampleRate, outputRate, resampled));
            }

            encoder.EncodeWhole(samples, outputRate, output, EncoderOptions(request, streamId));
            var data = output.WrittenSpan.ToArray();
            var duration = (double)samples.Length / outputRate;
            cache.Add(CacheKey(request, voice), new CachedAudio(data, encoder.ContentType, encoder.FileExtension, outputRate, duration));
            return new AudioResult(data, encoder.ContentType, encoder.FileExtension, outputRate, duration);
        }
        finally
        {
            ArrayPool<short>.Shared.Return(working);
            if (resampled is not null)
            {
                ArrayPool<short>.Shared.Return(resampled);
            }
        }
    }

    /// <summary>The pipeline that encodes a streamed request's audio as the engine makes it.</summary>
    /// <remarks>The first stream of a voice on this silo speaks a calibration sentence first (a few milliseconds with espeak-ng, one
    /// inference with a neural model) to learn its gain; <paramref name="cancellationToken"/> stops it.
    /// Pass the task id as <paramref name="streamId"/> so that a stream re-rendered after a failover has the same Ogg serial.</remarks>
    public async Task<StreamedRendering> StartStream(SynthesisRequest request, VoiceEntry voice, ISpeechEngine engine, CancellationToken cancellationToken, string? streamId = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(voice);
        ArgumentNullException.ThrowIfNull(engine);
        var encoder = Encoder(request);
        var gain = await StreamGain(voice, engine, engine.NativePitch(request.Pitch), cancellationToken);
        var (speed, pitch) = DspSpeedAndPitch(request, engine);
        return new StreamedRendering(
            encoder,
            engine.SampleRate,
            OutputRate(request, encoder, engine.SampleRate),
            gain,
            EncoderOptions(request, streamId),
            speed,
            pitch,
            engine.WordTimesEstimated);
    }

    /// <summary>Learns the gain of <paramref name="voice"/>'s streams now, as its first stream would before its first audio.</summary>
    public async Task LearnStreamGain(VoiceEntry voice, ISpeechEngine engine, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(voice);
        ArgumentNullException.ThrowIfNull(engine);
        await StreamGain(voice, engine, 1.0, cancellationToken);
    }

    /// <summary>Whether the gain of <paramref name="voice"/>'s streams is known (its first stream will not calibrate).</summary>
    public bool KnowsStreamGain(VoiceEntry voice)
    {
        ArgumentNullException.ThrowIfNull(voice);
        return _streamGains.ContainsKey(GainKey(voice, 1.0));
    }

    // The model too: every single-speaker Piper voice has the same (empty) engine voice. An engine that sets the pitch itself
    // (espeak-ng) is louder at a higher one (3 dB at 2.0), so its gain is learnt per pitch, in steps of 0.05 (31 at most per voice).
    private static string GainKey(VoiceEntry voice, double pitch) =>
        pitch == 1.0 ? $"{voice.Engine}/{voice.Model}/{voice.EngineVoice}" : $"{voice.Engine}/{voice.Model}/{voice.EngineVoice}/{pitch.ToString("0.00", CultureInfo.InvariantCulture)}";

    private async ValueTask<double> StreamGain(VoiceEntry voice, ISpeechEngine engine, double enginePitch, CancellationToken cancellationToken)
    {
        var pitch = Math.Round(enginePitch * 20) / 20;
        var key = GainKey(voice, pitch);
        if (_streamGains.TryGetValue(key, out var gain))
        {
            return gain;
        }

        using var pcm = new PcmBuffer();
        // On the pool, never on the caller's thread: a neural engine's inference runs inside the call, and the caller is a synthesizer
        // grain that must stay free to hear a cancel (a slow model's calibration held one for a minute, deaf to the barge-in).
        await Task.Run(() => engine.SynthesizeAsync(new SpeechRequest(CalibrationText, voice.EngineVoice, Pitch: pitch), pcm, cancellationToken), CancellationToken.None);
        gain = LoudnessNormalizer.GainFor(pcm.Samples);
        _streamGains[key] = gain;
        return gain;
    }

    /// <summary>The encoder of the request's format.</summary>
    public static IAudioEncoder Encoder(SynthesisRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return AudioFormatCatalog.Encoder(request.Format);
    }

    /// <summary>The rate of the delivered audio, as the format decides it (<see cref="IAudioEncoder.OutputRate"/>).</summary>
    public static int OutputRate(SynthesisRequest request, IAudioEncoder encoder, int engineRate)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(encoder);
        return encoder.OutputRate(request.SampleRate, engineRate, request.Bitrate);
    }

    /// <summary>A streamed task's stored file: its chunks joined (<paramref name="whole"/>, <paramref name="samples"/> long, finished in place by the format's
    /// <see cref="IAudioEncoder.FinishWhole"/>, e.g. WAVE lengths) with its content type, rate and duration.</summary>
    public static AudioResult StreamedResult(SynthesisRequest request, byte[] whole, int engineRate, long samples, double durationSeconds)
    {
        ArgumentNullException.ThrowIfNull(whole);
        var encoder = Encoder(request);
        encoder.FinishWhole(whole, samples);
        return new AudioResult(whole, encoder.ContentType, encoder.FileExtension, encoder.OutputRate(request.SampleRate, engineRate, request.Bitrate), durationSeconds);
    }

    private static AudioEncoderOptions EncoderOptions(SynthesisRequest request, string? streamId) => new(request.Bitrate, StreamId: streamId);

    /// <summary>What the pipeline still has to do after the engine: the speed it did not apply, and the pitch beyond what it did
    /// (all of it for a neural voice; for espeak-ng, the part past the ends of its scale).</summary>
    private static (double Speed, double Pitch) DspSpeedAndPitch(SynthesisRequest request, ISpeechEngine engine) =>
        (engine.AppliesSpeed ? 1.0 : request.Speed, request.Pitch / engine.NativePitch(request.Pitch));

    private static AudioCacheKey CacheKey(SynthesisRequest request, VoiceEntry voice) => new(
        request.Text,
        $"{voice.Engine}/{voice.Model}/{voice.EngineVoice}/{voice.Id}{(request.Ssml ? "/ssml" : string.Empty)}",
        request.Format.ToString(),
        request.SampleRate ?? 0,
        request.Speed,
        request.Pitch,
        Encoder(request).Bitrates is null ? null : request.Bitrate,
        request.Owner);
}
