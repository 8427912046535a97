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

    /// <summary>CUDA provider options the neural scenario compares on a GPU: ONNX Runtime's defaults, then the cuDNN convolution algorithm
    /// chosen by heuristics or fixed, with TF32 on and off; the last is <see cref="OnnxSessionFactory.DefaultCudaProviderOptions"/>.</summary>
    private static readonly (string Name, Dictionary<string, string> Options)[] s_cudaSettings =
    [
        ("exhaustive search, TF32 (ONNX Runtime's defaults)", new() { ["cudnn_conv_algo_search"] = "EXHAUSTIVE", ["use_tf32"] = "1" }),
        ("heuristic search, TF32", new() { ["cudnn_conv_algo_search"] = "HEURISTIC", ["use_tf32"] = "1" }),
        ("default algorithm, TF32", new() { ["cudnn_conv_algo_search"] = "DEFAULT", ["use_tf32"] = "1" }),
        ("heuristic search, no TF32", new() { ["cudnn_conv_algo_search"] = "HEURISTIC", ["use_tf32"] = "0" }),
        ("default algorithm, no TF32 (ours)", new() { ["cudnn_conv_algo_search"] = "DEFAULT", ["use_tf32"] = "0" }),
    ];

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
            var cpu = new OnnxSessionFactory(new OnnxDeviceOptions("cpu", IntraOpNumThreads: options.OnnxThreads));
            var onGpu = new OnnxDeviceOptions(options.OnnxDevice).CudaDeviceId is not null;
            var sessions = onGpu ? new OnnxSessionFactory(new OnnxDeviceOptions(options.OnnxDevice, FallBackToCpu: false)) : cpu;
            var batchRows = new List<string>();
            var deviceRows = new List<string>();
            var settingRows = new List<string>();
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
                    if (onGpu)
                    {
                        var runs = await ModelRuns(voice);
                        var reference = Once(runs, cpu);
                        deviceRows.Add(AgainstCpu(reference, Once(runs, sessions), described.Name));
                        if (kind != "tiny")
                        {
                            settingRows.AddRange(CudaSettings(runs, reference, described.Name));
                        }
                    }

                    if (voice.Engine == PiperEngine.EngineName)
                    {
                        var (row, batch) = await Piper(voice, sessions, described, rounds, batches: kind != "tiny" ? (onGpu ? [4, 16] : [4]) : []);
                        rows.Add(row);
                        batchRows.AddRange(batch);
                    }
                    else
                    {
                        rows.Add(await Kokoro(voice, sessions, described, rounds));
                    }
                }
            }

            var where = onGpu
                ? $"ONNX Runtime {sessions.ExecutionProvider} on {options.OnnxDevice} (espeak-ng on the CPU)"
                : $"ONNX Runtime CPU provider, {(options.OnnxThreads == 0 ? "all cores" : $"{options.OnnxThreads} thread(s)")} per inference";
            return string.Join('\n',
                $"## Neural engines on {(onGpu ? options.OnnxDevice : "CPU")} (issue 12), {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC",
                "",
                $"Machine: {machine}. {where}. "
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
                deviceRows.Count == 0 ? "" : string.Join('\n',
                    $"The same input through a {OnnxSessionFactory.CpuProvider} session and a {sessions.ExecutionProvider} session of each model "
                        + "(Piper at noise scales 0, so its random draws add nothing; Kokoro's first sentence with its style row): "
                        + "the largest difference of a sample and ‖gpu − cpu‖ / ‖cpu‖.",
                    "",
                    "| model | samples cpu / gpu | max abs diff | relative L2 |",
                    "|---|---:|---:|---:|",
                    string.Join('\n', deviceRows)),
                "",
                settingRows.Count == 0 ? "" : string.Join('\n',
                    "CUDA provider options, each model's session opened afresh for each: the time to open it, its first inference, the median "
                        + "of 5 inferences of one input said again (shapes seen before) and of 5 inputs of new lengths (Piper: other sentences with "
                        + "its noise scales, whose random durations change the length every time; Kokoro: the first sentence at speeds 0.93-1.09), "
                        + "and the fixed input's samples and relative L2 difference against the CPU session.",
                    "",
                    "| model | options | open s | first inference ms | same shapes p50 ms | new shapes p50 ms | samples cpu / gpu | relative L2 |",
                    "|---|---|---:|---:|---:|---:|---:|---:|",
                    string.Join('\n', settingRows)),
                "",
                batchRows.Count == 0 ? "" : string.Join('\n',
                    $"Piper batching on {(onGpu ? options.OnnxDevice : "CPU")}: N sentences (the 4 below, repeated) as N jobs one after the other (batch 1) "
                        + $"and as one `SynthesizeBatchAsync` inference of their sentences padded to the longest, {options.NeuralBuiltRounds} rounds after a warm-up.",
                    "",
                    "| model | jobs | batch | audio s | compute s | audio s per compute s | RTF |",
                    "|---|---:|---|---:|---:|---:|---:|",
                    string.Join('\n', batchRows)),
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

    private async Task<(string Row, List<string> Batch)> Piper(NeuralVoice voice, OnnxSessionFactory sessions, Described described, int rounds, int[] batches)
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
        return (row, batches.Length == 0 ? [] : await PiperBatches(engine, voice.EngineVoice, described.Name, rounds, batches));
    }

    /// <summary>For each size N, N jobs (the sentences, repeated) said one after the other (batch 1), then as one batch padded to the longest.</summary>
    private static async Task<List<string>> PiperBatches(PiperEngine engine, string engineVoice, string name, int rounds, int[] sizes)
    {
        var rows = new List<string>();
        foreach (var size in sizes)
        {
            var texts = Enumerable.Range(0, size).Select(i => s_sentences[i % s_sentences.Length]).ToArray();
            double singleAudio = 0, singleSeconds = 0, batchAudio = 0, batchSeconds = 0;
            for (var round = 0; round <= rounds; round++)
            {
                var sinks = texts.Select(_ => new TimingSink()).ToArray();
                var started = Stopwatch.GetTimestamp();
                for (var i = 0; i < texts.Length; i++)
                {
                    await engine.SynthesizeAsync(new SpeechRequest(texts[i], engineVoice), sinks[i]);
                }

                var single = Stopwatch.GetElapsedTime(started).TotalSeconds;
                var batchSinks = texts.Select(_ => new TimingSink()).ToArray();
                started = Stopwatch.GetTimestamp();
                await engine.SynthesizeBatchAsync([.. texts.Select((s, i) => new PiperBatchItem(new SpeechRequest(s, engineVoice), batchSinks[i]))]);
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

            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {size} | 1 (one job after the other) | {singleAudio:0.0} | {singleSeconds:0.00} | {singleAudio / singleSeconds:0.00} | {singleSeconds / singleAudio:0.0000} |"));
            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {size} | {size} (`SynthesizeBatchAsync`) | {batchAudio:0.0} | {batchSeconds:0.00} | {batchAudio / batchSeconds:0.00} | {batchSeconds / batchAudio:0.0000} |"));
        }

        return rows;
    }

    /// <summary>Opens one model on a device and gives its inference of input i: input 0 is the fixed one (Piper without noise, Kokoro at
    /// speed 1, the first sentence); inputs 1..5 are of new lengths (Piper: the other sentences with its noise scales, whose random
    /// durations change the length every time; Kokoro: the first sentence at speeds 0.93-1.09).</summary>
    private async Task<Func<OnnxSessionFactory, (Func<int, float[]> Run, IDisposable Model)>> ModelRuns(NeuralVoice voice)
    {
        var piper = voice.Engine == PiperEngine.EngineName;
        var espeakVoice = piper ? PiperVoiceConfig.Load(voice.ModelPath + ".json").EspeakVoice : KokoroVoiceNames.EspeakVoice(voice.EngineVoice)!;
        var phonemes = new List<string>();
        foreach (var sentence in s_sentences)
        {
            phonemes.Add((await _phonemizer.PhonemizeAsync(sentence, espeakVoice))[0]);
        }

        var folder = Path.GetDirectoryName(voice.ModelPath)!;
        var vocabulary = piper ? null : KokoroVocabulary.Load(Path.Combine(folder, NeuralVoiceDiscovery.KokoroConfigFile));
        var pack = piper ? null : KokoroVoicePack.Load(Path.Combine(folder, NeuralVoiceDiscovery.KokoroVoicesFile));
        return sessions =>
        {
            if (piper)
            {
                var opened = PiperModel.Open(voice.ModelPath, sessions);
                return (i =>
                {
                    var ids = PiperPhonemeIds.Encode(phonemes[i == 0 ? 0 : 1 + ((i - 1) % 3)], opened.Config.PhonemeIds).Ids;
                    var scales = i == 0 ? new PiperScales(0, opened.Config.Scales.LengthScale, 0) : opened.Config.Scales;
                    return opened.Synthesize([new PiperUtterance(ids)], scales)[0];
                }, opened);
            }

            var kokoro = KokoroModel.Open(voice.ModelPath, sessions);
            var tokens = vocabulary!.Tokenize(phonemes[0]).Tokens;
            var style = pack!.Style(voice.EngineVoice, tokens.Length).ToArray();
            return (i => kokoro.Synthesize(tokens, style, i == 0 ? 1f : 0.89f + (0.04f * i)), kokoro);
        };
    }

    /// <summary>The fixed input's audio from a session of the model opened for it alone.</summary>
    private static float[] Once(Func<OnnxSessionFactory, (Func<int, float[]> Run, IDisposable Model)> runs, OnnxSessionFactory sessions)
    {
        var (run, model) = runs(sessions);
        using (model)
        {
            return run(0);
        }
    }

    /// <summary>One model under each of <see cref="s_cudaSettings"/>, against its CPU audio <paramref name="reference"/>.</summary>
    private List<string> CudaSettings(Func<OnnxSessionFactory, (Func<int, float[]> Run, IDisposable Model)> runs, float[] reference, string name)
    {
        var rows = new List<string>();
        foreach (var (setting, values) in s_cudaSettings)
        {
            var device = new OnnxDeviceOptions(options.OnnxDevice, FallBackToCpu: false, CudaProviderOptions: values);
            var started = Stopwatch.GetTimestamp();
            var (run, model) = runs(new OnnxSessionFactory(device));
            var open = Stopwatch.GetElapsedTime(started).TotalSeconds;
            started = Stopwatch.GetTimestamp();
            var fixedOutput = run(0);
            var first = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var same = new List<double>();
            var fresh = new List<double>();
            for (var i = 0; i < 5; i++)
            {
                started = Stopwatch.GetTimestamp();
                run(0);
                same.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            for (var i = 1; i <= 5; i++)
            {
                started = Stopwatch.GetTimestamp();
                run(i);
                fresh.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            model.Dispose();
            var (_, relative) = Difference(reference, fixedOutput);
            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {setting} | {open:0.00} | {first:0} | {Percentiles.Of(same).P50:0.0} | {Percentiles.Of(fresh).P50:0.0} | "
                + $"{reference.Length} / {fixedOutput.Length} | {relative:0.###e+0} |"));
        }

        return rows;
    }

    private static (double MaxAbs, double Relative) Difference(float[] reference, float[] other)
    {
        double maxDiff = 0, diff = 0, norm = 0;
        for (var i = 0; i < Math.Min(reference.Length, other.Length); i++)
        {
            var d = Math.Abs((double)other[i] - reference[i]);
            maxDiff = Math.Max(maxDiff, d);
            diff += d * d;
            norm += (double)reference[i] * reference[i];
        }

        return (maxDiff, Math.Sqrt(diff / norm));
    }

    /// <summary>The fixed input's audio on the device against the CPU's, sample by sample.</summary>
    private static string AgainstCpu(float[] onCpu, float[] onDevice, string name)
    {
        var (maxDiff, relative) = Difference(onCpu, onDevice);
        return string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {onCpu.Length} / {onDevice.Length} | {maxDiff:0.###e+0} | {relative:0.###e+0} |");
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
