namespace MitTts.Speech.Engines.Onnx.Kokoro;

/// <summary>Kokoro-82M voices: espeak-ng phonemes, Kokoro's vocabulary, one run per sentence (per 510 tokens of a longer one),
/// the style row for that run's token count, 16-bit PCM at 24 kHz.</summary>
/// <remarks><see cref="SpeechRequest.EngineVoice"/> is a voice of the pack (<c>af_heart</c>); its first letter says the language.
/// Speed is Kokoro's own <c>speed</c> input; pitch is left to the audio pipeline.</remarks>
public sealed class KokoroEngine(KokoroModel model, KokoroVoicePack voices, KokoroVocabulary vocabulary, IPhonemizer phonemizer) : ISpeechEngine
{
    public const string EngineName = "kokoro";

    private long _unknownPhonemes;

    public string Name => EngineName;

    public int SampleRate => KokoroModel.SampleRate;

    /// <summary>False: pitch is the pipeline's; the engine still honours a speed other than 1.0 through the model's speed input.</summary>
    public bool AppliesSpeedAndPitch => false;

    public bool AppliesSpeed => true;

    /// <summary>Phonemes the vocabulary did not have, skipped since the engine was made.</summary>
    public long UnknownPhonemes => Interlocked.Read(ref _unknownPhonemes);

    public async Task SynthesizeAsync(SpeechRequest request, IPcmSink sink, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(sink);
        if (!voices.Contains(request.EngineVoice))
        {
            throw new ArgumentException($"The Kokoro voice pack has no voice '{request.EngineVoice}'.", nameof(request));
        }

        var language = KokoroVoiceNames.EspeakVoice(request.EngineVoice)
            ?? throw new ArgumentException($"Kokoro voice '{request.EngineVoice}' names no language Kokoro speaks.", nameof(request));
        var speed = request.Speed > 0 ? (float)request.Speed : 1f;
        var sentences = await phonemizer.PhonemizeAsync(request.Text, language, cancellationToken).ConfigureAwait(false);
        var words = sink as IWordSink;

        // With words, every run is made first: words go before the audio that holds them, placed by the lengths of all sentences.
        var made = words is null ? null : new List<float[]>();
        var spoken = words is null ? null : new EstimatedWords.Spoken[sentences.Count];
        long start = 0;
        for (var s = 0; s < sentences.Count; s++)
        {
            var (tokens, breaks, unknown) = vocabulary.Tokenize(sentences[s]);
            if (unknown > 0)
            {
                Interlocked.Add(ref _unknownPhonemes, unknown);
            }

            var runs = KokoroVocabulary.Split(breaks);
            long samples = 0;
            foreach (var run in runs)
            {
                var (offset, length) = run.GetOffsetAndLength(tokens.Length);
                var style = voices.Style(request.EngineVoice, length);
                var audio = model.Synthesize(tokens.AsSpan(offset, length), style, speed, cancellationToken);
                samples += audio.Length;
                if (made is null)
                {
                    FloatPcm.Write(audio, sink, 1f, cancellationToken);
                }
                else
                {
                    made.Add(audio);
                }
            }

            if (spoken is not null)
            {
                spoken[s] = new EstimatedWords.Spoken(sentences[s], start, samples, 1, 1, tokens.Length + (2 * runs.Count));
                start += samples;
            }
        }

        if (words is not null)
        {
            EstimatedWords.Report(words, request.Text, spoken!);
            foreach (var audio in made!)
            {
                FloatPcm.Write(audio, sink, 1f, cancellationToken);
            }
        }
    }

    /// <summary>Kokoro gives no word times: they are estimated from where each word's tokens fall in its sentence.</summary>
    public bool WordTimesEstimated => true;
}

/// <summary>What Kokoro's voice names say: <c>af_heart</c> is American English (<c>a</c>), female (<c>f</c>).</summary>
public static class KokoroVoiceNames
{
    /// <summary>The espeak-ng voice that phonemizes the voice's language; null for a prefix Kokoro does not have.</summary>
    public static string? EspeakVoice(string voice) => Prefix(voice, 0) switch
    {
        'a' => "en-us",
        'b' => "en", // British English: espeak-ng 1.51's voice file gmw/en; "en-gb" is a language code SetVoiceByName refuses
        'e' => "es",
        'f' => "fr",
        'h' => "hi",
        'i' => "it",
        'j' => "ja",
        'p' => "pt-br",
        'z' => "cmn",
        _ => null,
    };

    /// <summary>The voice's language as a two-letter code (<c>en</c>); null for a prefix Kokoro does not have.</summary>
    public static string? Language(string voice) => EspeakVoice(voice) switch
    {
        null => null,
        "cmn" => "zh",
        var espeak => espeak[..2],
    };

    /// <summary><c>female</c> or <c>male</c> from the name's second letter; null when it says neither.</summary>
    public static string? Gender(string voice) => Prefix(voice, 1) switch
    {
        'f' => "female",
        'm' => "male",
        _ => null,
    };

    private static char Prefix(string voice, int index) =>
        voice.Length > 2 && voice[2] == '_' ? voice[index] : '\0';
}
