using System.Globalization;

namespace MitTts.Speech.Engines.Onnx.Piper;

/// <summary>One sentence (or more) of one job in a batch, and where its audio goes.</summary>
/// <param name="Request">The text; <see cref="SpeechRequest.EngineVoice"/> names the speaker of a multi-speaker model (empty: the first).</param>
/// <param name="Sink">Receives this item's PCM, once the batch has run.</param>
/// <param name="CancellationToken">Cancels this item alone: its audio is dropped, the batch runs for the others.</param>
public sealed record PiperBatchItem(SpeechRequest Request, IPcmSink Sink, CancellationToken CancellationToken = default);

/// <summary>A Piper voice: espeak-ng phonemes, Piper ids, the VITS model, 16-bit PCM at the model's rate.</summary>
/// <remarks>Speed is the model's own <c>length_scale</c>; pitch is not something VITS takes, so it is left to the audio pipeline.</remarks>
/// <param name="model">The loaded voice.</param>
/// <param name="phonemizer">espeak-ng, in production.</param>
/// <param name="normalizeVolume">Bring each sentence's peak to full scale, as Piper does (its <c>normalize_audio</c>, on by default);
/// off, the model's floats are written as they are.</param>
public sealed class PiperEngine(PiperModel model, IPhonemizer phonemizer, bool normalizeVolume = true) : ISpeechEngine
{
    public const string EngineName = "piper";

    private long _unknownPhonemes;

    public string Name => EngineName;

    public int SampleRate => model.Config.SampleRate;

    /// <summary>False: pitch is the pipeline's; the engine still honours a speed other than 1.0 through <c>length_scale</c>.</summary>
    public bool AppliesSpeedAndPitch => false;

    public bool AppliesSpeed => true;

    /// <summary>Phonemes the model's id map did not have, skipped since the engine was made (a sign of a voice/language mismatch).</summary>
    public long UnknownPhonemes => Interlocked.Read(ref _unknownPhonemes);

    /// <summary>Synthesizes sentence by sentence, so the first sentence's audio reaches the sink before the second is computed.</summary>
    public async Task SynthesizeAsync(SpeechRequest request, IPcmSink sink, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(sink);
        var speaker = SpeakerId(request.EngineVoice);
        var scales = ScalesFor(request.Speed);
        var sentences = await phonemizer.PhonemizeAsync(request.Text, model.Config.EspeakVoice, cancellationToken).ConfigureAwait(false);
        if (sink is IWordSink words)
        {
            // Words go before the audio that holds them, and are placed by the lengths of every sentence: all are made first.
            var audio = new float[sentences.Count][];
            for (var i = 0; i < sentences.Count; i++)
            {
                audio[i] = model.Synthesize([new PiperUtterance(Encode(sentences[i]), speaker)], scales, cancellationToken)[0];
            }

            WriteWithWords(request.Text, sentences, audio, sink, words, cancellationToken);
            return;
        }

        foreach (var sentence in sentences)
        {
            var audio = model.Synthesize([new PiperUtterance(Encode(sentence), speaker)], scales, cancellationToken);
            Write(audio[0], sink, cancellationToken);
        }
    }

    /// <summary>Piper's models give no word times: they are estimated from where each word's phoneme ids fall in its sentence.</summary>
    public bool WordTimesEstimated => true;

    private void WriteWithWords(string text, IReadOnlyList<string> sentences, IReadOnlyList<float[]> audio, IPcmSink sink, IWordSink words, CancellationToken cancellationToken)
    {
        var spoken = new EstimatedWords.Spoken[sentences.Count];
        long start = 0;
        for (var i = 0; i < sentences.Count; i++)
        {
            var runes = 0;
            foreach (var _ in sentences[i].EnumerateRunes())
            {
                runes++;
            }

            spoken[i] = new EstimatedWords.Spoken(sentences[i], start, audio[i].Length, 2, 2, (2 * runes) + 3);
            start += audio[i].Length;
        }

        EstimatedWords.Report(words, text, spoken);
        foreach (var sentence in audio)
        {
            Write(sentence, sink, cancellationToken);
        }
    }

    /// <summary>Synthesizes the sentences of several jobs together: one inference per distinct speed (the rows of a run share its <c>scales</c>),
    /// every sentence of every item a row; then each item's audio goes to its own sink, in item order.</summary>
    /// <remarks>The whole batch is one ONNX run: <paramref name="cancellationToken"/> terminates it for everyone; an item's own
    /// token only drops that item's audio.</remarks>
    public async Task SynthesizeBatchAsync(IReadOnlyList<PiperBatchItem> items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        var phonemized = new Task<IReadOnlyList<string>>[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            phonemized[i] = phonemizer.PhonemizeAsync(items[i].Request.Text, model.Config.EspeakVoice, cancellationToken);
        }

        await Task.WhenAll(phonemized).ConfigureAwait(false);

        var scales = new PiperScales[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            scales[i] = ScalesFor(items[i].Request.Speed);
        }

        var audio = new List<float[]>[items.Count];
        for (var first = 0; first < items.Count; first++)
        {
            if (audio[first] is not null)
            {
                continue;
            }

            // Every item with these scales joins one run; its rows are remembered so the audio can be handed back per item.
            var rows = new List<PiperUtterance>();
            var owners = new List<int>();
            for (var i = first; i < items.Count; i++)
            {
                if (audio[i] is not null || !scales[i].Equals(scales[first]))
                {
                    continue;
                }

                audio[i] = [];
                if (items[i].CancellationToken.IsCancellationRequested)
                {
                    continue;
                }

                var speaker = SpeakerId(items[i].Request.EngineVoice);
                foreach (var sentence in phonemized[i].Result)
                {
                    rows.Add(new PiperUtterance(Encode(sentence), speaker));
                    owners.Add(i);
                }
            }

            var outputs = model.Synthesize(rows, scales[first], cancellationToken);
            for (var r = 0; r < outputs.Length; r++)
            {
                audio[owners[r]].Add(outputs[r]);
            }
        }

        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            if (item.CancellationToken.IsCancellationRequested)
            {
                continue;
            }

            if (item.Sink is IWordSink words)
            {
                WriteWithWords(item.Request.Text, phonemized[i].Result, audio[i], item.Sink, words, cancellationToken);
                continue;
            }

            foreach (var sentence in audio[i])
            {
                if (item.CancellationToken.IsCancellationRequested)
                {
                    break;
                }

                Write(sentence, item.Sink, cancellationToken);
            }
        }
    }

    private void Write(float[] sentence, IPcmSink sink, CancellationToken cancellationToken) =>
        FloatPcm.Write(sentence, sink, normalizeVolume ? FloatPcm.PeakGain(sentence) : 1f, cancellationToken);

    private long[] Encode(string sentence)
    {
        var (ids, unknown) = PiperPhonemeIds.Encode(sentence, model.Config.PhonemeIds);
        if (unknown > 0)
        {
            Interlocked.Add(ref _unknownPhonemes, unknown);
        }

        return ids;
    }

    private PiperScales ScalesFor(double speed)
    {
        var scales = model.Config.Scales;
        return speed is > 0 and not 1.0 ? scales with { LengthScale = (float)(scales.LengthScale / speed) } : scales;
    }

    /// <summary>The speaker a voice name selects: a name of <c>speaker_id_map</c>, a number, or nothing (speaker 0).</summary>
    private long SpeakerId(string engineVoice)
    {
        if (!model.IsMultiSpeaker || string.IsNullOrEmpty(engineVoice))
        {
            return 0;
        }

        if (model.Config.SpeakerIds.TryGetValue(engineVoice, out var id))
        {
            return id;
        }

        if (long.TryParse(engineVoice, NumberStyles.None, CultureInfo.InvariantCulture, out id) && id < model.Config.NumSpeakers)
        {
            return id;
        }

        throw new ArgumentException($"The Piper model has no speaker '{engineVoice}'.", nameof(engineVoice));
    }
}
