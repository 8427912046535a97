using System.Diagnostics;
using System.Globalization;
using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Espeak;
using MitTts.Speech.Engines.Onnx;
using MitTts.Speech.Engines.Onnx.Kokoro;
using MitTts.Speech.Engines.Onnx.Piper;
using MitTts.Tests.Speech.Onnx;

namespace MitTts.Bench.Load;

/// <summary>Real-time factor and first audio of each engine family on this machine's CPU, each against its raw ONNX session called
/// directly in the same run: espeak-ng, Piper and Kokoro. Without real models (none can be downloaded here) the neural figures are for
/// the tests' built models, which have the families' exact inputs and outputs but almost no compute: they measure our path around the
/// session (phonemes, ids, tensors, PCM), not a voice's network.</summary>
/// <remarks>Real models in <c>--models</c> (Piper <c>NAME.onnx</c> + <c>.onnx.json</c>, Kokoro's three files) are measured as well.</remarks>
internal sealed class NeuralScenario(BenchOptions options)
{
    private static readonly string[] s_sentences =
    [
        "Sure, I can help you with that. Let me check your account.",
        "Your order ships on Tuesday and should arrive by five in the afternoon.",
        "I have booked a table for four at seven thirty on Friday evening.",
        "Is there anything else I can help you with today?",
    ];

    public async Task<string> Run(string machine, string command)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"mittts-bench-models-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            File.WriteAllBytes(Path.Combine(folder, "en_US-built-x_low.onnx"), NeuralTestModels.Piper());
            File.WriteAllText(Path.Combine(folder, "en_US-built-x_low.onnx.json"), NeuralTestModels.PiperConfig());
            File.WriteAllBytes(Path.Combine(folder, NeuralVoiceDiscovery.KokoroModelFile), NeuralTestModels.Kokoro());
            File.WriteAllBytes(Path.Combine(folder, NeuralVoiceDiscovery.KokoroVoicesFile), NeuralTestModels.KokoroVoices("af_heart"));
            File.WriteAllText(Path.Combine(folder, NeuralVoiceDiscovery.KokoroConfigFile), NeuralTestModels.KokoroConfig());

            var rows = new List<string>();
            var phonemizer = new EspeakPhonemizer();
            var sessions = new OnnxSessionFactory(new OnnxDeviceOptions("cpu", IntraOpNumThreads: options.OnnxThreads));
            rows.Add(await Espeak());
            foreach (var scanFolder in (string?[])[folder, options.ModelsFolder])
            {
                if (scanFolder is null)
                {
                    continue;
                }

                var built = scanFolder == folder;
                foreach (var voice in new NeuralVoiceDiscovery([]).Scan(scanFolder).Voices.DistinctBy(v => v.ModelPath))
                {
                    rows.Add(voice.Engine == PiperEngine.EngineName
                        ? await Piper(voice, sessions, phonemizer, built)
                        : await Kokoro(voice, sessions, phonemizer, built));
                }
            }

            return string.Join('\n',
                $"## Neural engines on CPU (issue 12), {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC",
                "",
                $"Machine: {machine}. ONNX Runtime CPU provider, {(options.OnnxThreads == 0 ? "all cores" : $"{options.OnnxThreads} thread(s)")} per inference, {options.NeuralRounds * 4} sentences per engine after one warm-up round.",
                "",
                $"Command: `{command}`",
                "",
                "RTF = compute seconds / audio seconds (lower is faster; 0.01 = 100x real time). \"engine\": the engine as the server calls it "
                    + "(espeak-ng phonemes, ids, session, PCM); \"raw session\": the ONNX session alone on ids made beforehand. First audio: call to the "
                    + "first PCM buffer, p50.",
                "",
                "| engine | model | size | audio s | RTF engine | RTF raw session | first audio p50 ms |",
                "|---|---|---:|---:|---:|---:|---:|",
                string.Join('\n', rows));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private async Task<string> Espeak()
    {
        var engine = new EspeakEngine();
        var (audio, seconds, firsts) = await Measure(engine, "en-us");
        return Row("espeak-ng", "(native library)", 0, audio, seconds / audio, null, firsts);
    }

    private async Task<string> Piper(NeuralVoice voice, OnnxSessionFactory sessions, EspeakPhonemizer phonemizer, bool built)
    {
        using var model = PiperModel.Open(voice.ModelPath, sessions);
        var engine = new PiperEngine(model, phonemizer);
        var (audio, seconds, firsts) = await Measure(engine, voice.EngineVoice);

        var utterances = new List<PiperUtterance>();
        foreach (var sentence in s_sentences)
        {
            foreach (var phonemes in await phonemizer.PhonemizeAsync(sentence, model.Config.EspeakVoice))
            {
                utterances.Add(new PiperUtterance(PiperPhonemeIds.Encode(phonemes, model.Config.PhonemeIds).Ids));
            }
        }

        var raw = RawRounds(() =>
        {
            long samples = 0;
            foreach (var utterance in utterances)
            {
                samples += model.Synthesize([utterance], model.Config.Scales)[0].Length;
            }

            return samples / (double)model.Config.SampleRate;
        });
        return Row("piper", Name(voice, built), new FileInfo(voice.ModelPath).Length, audio, seconds / audio, raw, firsts);
    }

    private async Task<string> Kokoro(NeuralVoice voice, OnnxSessionFactory sessions, EspeakPhonemizer phonemizer, bool built)
    {
        var folder = Path.GetDirectoryName(voice.ModelPath)!;
        using var model = KokoroModel.Open(voice.ModelPath, sessions);
        var pack = KokoroVoicePack.Load(Path.Combine(folder, NeuralVoiceDiscovery.KokoroVoicesFile));
        var vocabulary = KokoroVocabulary.Load(Path.Combine(folder, NeuralVoiceDiscovery.KokoroConfigFile));
        var engine = new KokoroEngine(model, pack, vocabulary, phonemizer);
        var (audio, seconds, firsts) = await Measure(engine, voice.EngineVoice);

        var runs = new List<long[]>();
        foreach (var sentence in s_sentences)
        {
            foreach (var phonemes in await phonemizer.PhonemizeAsync(sentence, KokoroVoiceNames.EspeakVoice(voice.EngineVoice)!))
            {
                runs.Add(vocabulary.Tokenize(phonemes).Tokens);
            }
        }

        var raw = RawRounds(() =>
        {
            long samples = 0;
            foreach (var tokens in runs)
            {
                samples += model.Synthesize(tokens, pack.Style(voice.EngineVoice, tokens.Length), 1f).Length;
            }

            return samples / (double)KokoroModel.SampleRate;
        });
        return Row("kokoro", Name(voice, built), new FileInfo(voice.ModelPath).Length, audio, seconds / audio, raw, firsts);
    }

    /// <summary>Audio seconds, compute seconds and first-audio times of the sentences through <paramref name="engine"/>.</summary>
    private async Task<(double Audio, double Seconds, List<double> FirstAudio)> Measure(ISpeechEngine engine, string engineVoice)
    {
        double audio = 0, seconds = 0;
        var firsts = new List<double>();
        for (var round = 0; round <= options.NeuralRounds; round++)
        {
            foreach (var sentence in s_sentences)
            {
                var sink = new TimingSink();
                var started = Stopwatch.GetTimestamp();
                await engine.SynthesizeAsync(new SpeechRequest(sentence, engineVoice), sink);
                var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
                if (round == 0)
                {
                    continue; // warm-up
                }

                audio += sink.Samples / (double)engine.SampleRate;
                seconds += elapsed;
                firsts.Add(Stopwatch.GetElapsedTime(started, sink.FirstAt).TotalMilliseconds);
            }
        }

        return (audio, seconds, firsts);
    }

    /// <summary>RTF of <paramref name="round"/> (which returns the audio seconds it made), after one warm-up.</summary>
    private double RawRounds(Func<double> round)
    {
        round();
        double audio = 0;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < options.NeuralRounds; i++)
        {
            audio += round();
        }

        return clock.Elapsed.TotalSeconds / audio;
    }

    private static string Name(NeuralVoice voice, bool built) =>
        built ? $"built test model ({Path.GetFileName(voice.ModelPath)})" : Path.GetFileName(voice.ModelPath);

    private static string Row(string engine, string model, long bytes, double audio, double rtf, double? raw, List<double> firsts)
    {
        firsts.Sort();
        var size = bytes == 0 ? "–" : bytes >= 1 << 20 ? $"{bytes / (1024.0 * 1024):0.0} MB" : $"{bytes / 1024.0:0.0} kB";
        return string.Create(CultureInfo.InvariantCulture,
            $"| {engine} | {model} | {size} | {audio:0.0} | {rtf:0.00000} | {(raw is { } r ? r.ToString("0.00000", CultureInfo.InvariantCulture) : "–")} | {firsts[firsts.Count / 2]:0.00} |");
    }

    private sealed class TimingSink : IPcmSink
    {
        public long FirstAt { get; private set; }

        public long Samples { get; private set; }

        public void Write(ReadOnlySpan<short> samples)
        {
            if (FirstAt == 0)
            {
                FirstAt = Stopwatch.GetTimestamp();
            }

            Samples += samples.Length;
        }
    }
}
