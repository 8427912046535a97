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
/// directly in the same run: espeak-ng, Piper and Kokoro. No real model can be downloaded here, so the neural figures are for built
/// models: the tests' tiny ones (the families' exact inputs and outputs, almost no compute: our path around the session) and models
/// of a real voice's size and compute with untrained weights (a Piper medium voice, Kokoro-82M), made in a temporary folder.</summary>
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

    private readonly EspeakPhonemizer _phonemizer = new();
    private readonly List<string> _notes = [];

    public async Task<string> Run(string machine, string command)
    {
        var loadAtStart = LoadAverage();
        var root = Path.Combine(Path.GetTempPath(), $"mittts-bench-models-{Guid.NewGuid():N}");
        var tiny = Directory.CreateDirectory(Path.Combine(root, "tiny")).FullName;
        var built = Directory.CreateDirectory(Path.Combine(root, "built")).FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(tiny, "en_US-built-x_low.onnx"), NeuralTestModels.Piper());
            File.WriteAllText(Path.Combine(tiny, "en_US-built-x_low.onnx.json"), NeuralTestModels.PiperConfig());
            File.WriteAllBytes(Path.Combine(tiny, NeuralVoiceDiscovery.KokoroModelFile), NeuralTestModels.Kokoro());
            File.WriteAllBytes(Path.Combine(tiny, NeuralVoiceDiscovery.KokoroVoicesFile), NeuralTestModels.KokoroVoices("af_heart"));
            File.WriteAllText(Path.Combine(tiny, NeuralVoiceDiscovery.KokoroConfigFile), NeuralTestModels.KokoroConfig());

            var parameters = new Dictionary<string, long>();
            var clock = Stopwatch.StartNew();
            var piperPath = Path.Combine(built, "en_US-built-medium.onnx");
            parameters[piperPath] = BuiltPiperVoice.Write(piperPath);
            File.WriteAllText(piperPath + ".json", BuiltPiperVoice.Config());
            var piperSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            parameters[Path.Combine(built, NeuralVoiceDiscovery.KokoroModelFile)] = BuiltKokoroModel.Write(built);
            _notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"Built models written in {piperSeconds:0.0} s (Piper) and {clock.Elapsed.TotalSeconds:0.0} s (Kokoro, with its voice pack)."));
            _notes.Add("The realistic-size models are built, not trained: seeded pseudo-random weights, so their audio is noise of a real voice's "
                + "length, while their parameters, operators and compute are a real voice's (Piper: VITS at piper_train's medium settings, "
                + "22050 Hz; Kokoro: the StyleTTS 2 / iSTFTNet shape of Kokoro-82M, 24 kHz). See Tests/Speech/Onnx/BuiltPiperVoice.cs and BuiltKokoroModel.cs.");
            _notes.Add("The tests' tiny models are kept: with almost no network, their rows isolate the cost of our path around the session.");

            var rows = new List<string> { await Espeak() };
            var sessions = new OnnxSessionFactory(new OnnxDeviceOptions("cpu", IntraOpNumThreads: options.OnnxThreads));
            string? batchRows = null;
            foreach (var (folder, kind) in new[] { (tiny, "tiny"), (built, "built"), (options.ModelsFolder, "real") })
            {
                if (folder is null)
                {
                    continue;
                }

                var rounds = kind == "tiny" ? options.NeuralRounds : options.NeuralBuiltRounds;
                foreach (var voice in new NeuralVoiceDiscovery([]).Scan(folder).Voices.DistinctBy(v => v.ModelPath))
                {
                    var name = kind switch
                    {
                        "tiny" => $"tests' tiny model ({Path.GetFileName(voice.ModelPath)})",
                        "built" => $"built, realistic size ({Path.GetFileName(voice.ModelPath)})",
                        _ => Path.GetFileName(voice.ModelPath),
                    };
                    var described = new Described(name, new FileInfo(voice.ModelPath).Length, parameters.GetValueOrDefault(voice.ModelPath));
                    if (voice.Engine == PiperEngine.EngineName)
                    {
                        var (row, batch) = await Piper(voice, sessions, described, rounds, batches: kind != "tiny");
                        rows.Add(row);
                        batchRows = batch ?? batchRows;
                    }
                    else
                    {
                        rows.Add(await Kokoro(voice, sessions, described, rounds));
                    }
                }
            }

            return string.Join('\n',
                $"## Neural engines on CPU (issue 12), {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC",
                "",
                $"Machine: {machine}. ONNX Runtime CPU provider, {(options.OnnxThreads == 0 ? "all cores" : $"{options.OnnxThreads} thread(s)")} per inference. "
                    + $"Each engine says the {s_sentences.Length} sentences below once to warm up, then {options.NeuralRounds} times (tiny models, espeak-ng) "
                    + $"or {options.NeuralBuiltRounds} times (realistic-size and real models), the engine's rounds and the raw session's in turn. "
                    + $"Load average (1 min) at the start and end of the run: {loadAtStart} and {LoadAverage()} (other work shares these cores).",
                "",
                $"Command: `{command}`",
                "",
                "RTF = compute seconds / audio seconds (lower is faster; 0.1 = 10x real time). \"engine\": the engine as the server calls it "
                    + "(espeak-ng phonemes, ids, session, PCM); \"raw\": the ONNX session alone on ids made beforehand, sentence by sentence. "
                    + "First audio: from the call to the first PCM buffer (engine) or to the end of the request's first inference (raw), "
                    + "per request (nearest rank; with a few rounds p99 is the slowest request).",
                "",
                "| engine | model | size | parameters | audio s | RTF engine | RTF raw | first audio engine p50 / p99 ms | first audio raw p50 / p99 ms |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|",
                string.Join('\n', rows),
                "",
                batchRows ?? "",
                "",
                string.Join('\n', _notes.Select(n => "- " + n)));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private async Task<string> Espeak()
    {
        var engine = new EspeakEngine();
        var measured = new Tally();
        for (var round = 0; round <= options.NeuralRounds; round++)
        {
            await EngineRound(engine, "en-us", round == 0 ? null : measured);
        }

        return Row("espeak-ng", new Described("(native library)", 0, 0), measured, null);
    }

    private async Task<(string Row, string? Batch)> Piper(NeuralVoice voice, OnnxSessionFactory sessions, Described described, int rounds, bool batches)
    {
        var (before, loadBefore) = (WorkingSet(), LoadAverage());
        using var model = PiperModel.Open(voice.ModelPath, sessions);
        var engine = new PiperEngine(model, _phonemizer);
        var requests = new List<List<Func<int>>>();
        foreach (var sentence in s_sentences)
        {
            var runs = new List<Func<int>>();
            foreach (var phonemes in await _phonemizer.PhonemizeAsync(sentence, model.Config.EspeakVoice))
            {
                var utterance = new PiperUtterance(PiperPhonemeIds.Encode(phonemes, model.Config.PhonemeIds).Ids);
                runs.Add(() => model.Synthesize([utterance], model.Config.Scales)[0].Length);
            }

            requests.Add(runs);
        }

        var (measured, raw) = await Alternate(engine, voice.EngineVoice, requests, rounds);
        NoteMemory(described, before, loadBefore);
        var row = Row("piper", described, measured, raw);
        return (row, batches ? await PiperBatches(engine, voice.EngineVoice, described.Name, rounds) : null);
    }

    /// <summary>The four sentences as four jobs: one after the other (batch 1), and as one batch of four rows padded to the longest.</summary>
    private static async Task<string> PiperBatches(PiperEngine engine, string engineVoice, string name, int rounds)
    {
        double singleAudio = 0, singleSeconds = 0, batchAudio = 0, batchSeconds = 0;
        for (var round = 0; round <= rounds; round++)
        {
            var sinks = s_sentences.Select(_ => new TimingSink()).ToArray();
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < s_sentences.Length; i++)
            {
                await engine.SynthesizeAsync(new SpeechRequest(s_sentences[i], engineVoice), sinks[i]);
            }

            var single = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var batchSinks = s_sentences.Select(_ => new TimingSink()).ToArray();
            started = Stopwatch.GetTimestamp();
            await engine.SynthesizeBatchAsync([.. s_sentences.Select((s, i) => new PiperBatchItem(new SpeechRequest(s, engineVoice), batchSinks[i]))]);
            var batch = Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (round == 0)
            {
                continue; // warm-up
            }

            singleAudio += sinks.Sum(s => s.Samples) / (double)engine.SampleRate;
            singleSeconds += single;
            batchAudio += batchSinks.Sum(s => s.Samples) / (double)engine.SampleRate;
            batchSeconds += batch;
        }

        return string.Join('\n',
            $"Piper batching on CPU, {name}: the {s_sentences.Length} sentences as {s_sentences.Length} jobs, {rounds} rounds after a warm-up. "
                + "Batch 4 is one inference of 5 rows (the first request is two sentences), padded to the longest.",
            "",
            "| batch | audio s | compute s | audio s per compute s | RTF |",
            "|---|---:|---:|---:|---:|",
            string.Create(CultureInfo.InvariantCulture,
                $"| 1 (one job after the other) | {singleAudio:0.0} | {singleSeconds:0.00} | {singleAudio / singleSeconds:0.00} | {singleSeconds / singleAudio:0.0000} |"),
            string.Create(CultureInfo.InvariantCulture,
                $"| 4 (`SynthesizeBatchAsync`) | {batchAudio:0.0} | {batchSeconds:0.00} | {batchAudio / batchSeconds:0.00} | {batchSeconds / batchAudio:0.0000} |"));
    }

    private async Task<string> Kokoro(NeuralVoice voice, OnnxSessionFactory sessions, Described described, int rounds)
    {
        var folder = Path.GetDirectoryName(voice.ModelPath)!;
        var (before, loadBefore) = (WorkingSet(), LoadAverage());
        using var model = KokoroModel.Open(voice.ModelPath, sessions);
        var pack = KokoroVoicePack.Load(Path.Combine(folder, NeuralVoiceDiscovery.KokoroVoicesFile));
        var vocabulary = KokoroVocabulary.Load(Path.Combine(folder, NeuralVoiceDiscovery.KokoroConfigFile));
        var engine = new KokoroEngine(model, pack, vocabulary, _phonemizer);
        var requests = new List<List<Func<int>>>();
        foreach (var sentence in s_sentences)
        {
            var runs = new List<Func<int>>();
            foreach (var phonemes in await _phonemizer.PhonemizeAsync(sentence, KokoroVoiceNames.EspeakVoice(voice.EngineVoice)!))
            {
                var tokens = vocabulary.Tokenize(phonemes).Tokens;
                var style = pack.Style(voice.EngineVoice, tokens.Length).ToArray();
                runs.Add(() => model.Synthesize(tokens, style, 1f).Length);
            }

            requests.Add(runs);
        }

        var (measured, raw) = await Alternate(engine, voice.EngineVoice, requests, rounds);
        NoteMemory(described, before, loadBefore);
        return Row("kokoro", described, measured, raw);
    }

    /// <summary>Rounds of the engine and of the raw session taken in turn (after one warm-up round of each), so a change in the machine's
    /// load falls on both alike.</summary>
    private static async Task<(Tally Engine, Tally Raw)> Alternate(ISpeechEngine engine, string engineVoice, List<List<Func<int>>> requests, int rounds)
    {
        var (measured, raw) = (new Tally(), new Tally());
        for (var round = 0; round <= rounds; round++)
        {
            await EngineRound(engine, engineVoice, round == 0 ? null : measured);
            RawRound(requests, engine.SampleRate, round == 0 ? null : raw);
        }

        return (measured, raw);
    }

    /// <summary>The sentences through <paramref name="engine"/>, one request each; a null tally makes it a warm-up.</summary>
    private static async Task EngineRound(ISpeechEngine engine, string engineVoice, Tally? tally)
    {
        foreach (var sentence in s_sentences)
        {
            var sink = new TimingSink();
            var started = Stopwatch.GetTimestamp();
            await engine.SynthesizeAsync(new SpeechRequest(sentence, engineVoice), sink);
            tally?.Add(sink.Samples / (double)engine.SampleRate, Stopwatch.GetElapsedTime(started).TotalSeconds,
                Stopwatch.GetElapsedTime(started, sink.FirstAt).TotalMilliseconds);
        }
    }

    /// <summary>Each request's inferences (each returns its samples) called directly; a request's first audio is its first inference's end.</summary>
    private static void RawRound(List<List<Func<int>>> requests, int sampleRate, Tally? tally)
    {
        foreach (var runs in requests)
        {
            var started = Stopwatch.GetTimestamp();
            var made = 0L;
            var first = 0.0;
            foreach (var run in runs)
            {
                made += run();
                if (first == 0)
                {
                    first = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                }
            }

            tally?.Add(made / (double)sampleRate, Stopwatch.GetElapsedTime(started).TotalSeconds, first);
        }
    }

    /// <summary>The 1-minute load average, which says how much of the CPU the run had to share.</summary>
    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "(unknown)";

    private static long WorkingSet()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    /// <summary>What opening the session and running the engine added to the process (the session's weights and its arena).</summary>
    private void NoteMemory(Described model, long before, string loadBefore)
    {
        if (model.Bytes >= 1 << 20)
        {
            _notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"{model.Name}: the process's working set grew by {(WorkingSet() - before) / (1024.0 * 1024):0} MB from opening the session to the end of its rounds; "
                + $"load average {loadBefore} before, {LoadAverage()} after."));
        }
    }

    private static string Row(string engine, Described model, Tally measured, Tally? raw)
    {
        var bytes = model.Bytes;
        var size = bytes == 0 ? "–" : bytes >= 1 << 20 ? $"{bytes / (1024.0 * 1024):0.0} MB" : $"{bytes / 1024.0:0.0} kB";
        var parameters = model.Parameters == 0 ? "–" : $"{model.Parameters / 1e6:0.0} M";
        return string.Create(CultureInfo.InvariantCulture,
            $"| {engine} | {model.Name} | {size} | {parameters} | {measured.Audio:0.0} | {Rtf(measured)} | {(raw is null ? "–" : Rtf(raw))} | "
            + $"{Firsts(measured)} | {(raw is null ? "–" : Firsts(raw))} |");
    }

    private static string Rtf(Tally m)
    {
        var rtf = m.Seconds / m.Audio;
        return rtf.ToString(rtf >= 0.01 ? "0.000" : "0.00000", CultureInfo.InvariantCulture);
    }

    private static string Firsts(Tally m)
    {
        var firsts = Percentiles.Of(m.FirstAudio);
        return firsts.P50 >= 10
            ? string.Create(CultureInfo.InvariantCulture, $"{firsts.P50:0} / {firsts.P99:0}")
            : string.Create(CultureInfo.InvariantCulture, $"{firsts.P50:0.00} / {firsts.P99:0.00}");
    }

    private sealed record Described(string Name, long Bytes, long Parameters);

    /// <summary>Audio seconds, compute seconds and first-audio times (ms) of the measured requests.</summary>
    private sealed class Tally
    {
        public double Audio { get; private set; }

        public double Seconds { get; private set; }

        public List<double> FirstAudio { get; } = [];

        public void Add(double audio, double seconds, double firstAudioMs)
        {
            Audio += audio;
            Seconds += seconds;
            FirstAudio.Add(firstAudioMs);
        }
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
