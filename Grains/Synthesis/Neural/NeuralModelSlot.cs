using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Onnx;
using MitTts.Speech.Engines.Onnx.Kokoro;
using MitTts.Speech.Engines.Onnx.Piper;

namespace MitTts.Grains.Synthesis.Neural;

/// <summary>One neural model on one device: the engine that speaks its voices, its session opened once (at startup or on first use)
/// and kept for the silo's life.</summary>
/// <remarks>Name, rate and controls are known from the model's config without opening it, so resolving a voice never blocks the grain;
/// the session is opened by the first synthesis, on the thread that runs it. A model that cannot be opened stays broken (the failure is
/// kept, not retried per request).</remarks>
public sealed class NeuralModelSlot : ISpeechEngine, IDisposable
{
    // How long disposing waits for inferences still running (their jobs cancelled: ONNX Runtime stops at its next node).
    private static readonly TimeSpan s_runsEndTimeout = TimeSpan.FromSeconds(10);

    private readonly Lazy<Opened> _opened;
    private readonly Action<string, string> _failed;
    // Guards the running count; Monitor, so that closing can wait on it for the last inference to leave.
    private readonly object _gate = new();
    private int _running;
    private bool _disposed;

    /// <param name="engine"><see cref="PiperEngine.EngineName"/> or <see cref="KokoroEngine.EngineName"/>.</param>
    /// <param name="modelPath">The <c>.onnx</c> file.</param>
    /// <param name="sampleRate">The model's rate, from its config.</param>
    /// <param name="sessions">The device's session factory.</param>
    /// <param name="phonemizer">espeak-ng.</param>
    /// <param name="failed">Told (model path, reason) once when the model cannot be opened.</param>
    public NeuralModelSlot(string engine, string modelPath, int sampleRate, OnnxSessionFactory sessions, IPhonemizer phonemizer, Action<string, string> failed)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        Name = engine;
        ModelPath = modelPath;
        SampleRate = sampleRate;
        _failed = failed;
        _opened = new Lazy<Opened>(() => Open(engine, modelPath, sessions, phonemizer), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public string Name { get; }

    public string ModelPath { get; }

    public int SampleRate { get; }

    /// <summary>Pitch is the pipeline's (VITS and Kokoro take none).</summary>
    public bool AppliesSpeedAndPitch => false;

    /// <summary>Speed is the model's own: Piper's <c>length_scale</c>, Kokoro's <c>speed</c>.</summary>
    public bool AppliesSpeed => true;

    /// <summary>Word times are placed by phoneme positions: the models give none.</summary>
    public bool WordTimesEstimated => true;

    /// <summary>Whether jobs of this model can share one inference (Piper takes a batch; Kokoro takes one utterance).</summary>
    public bool TakesBatches => Name == PiperEngine.EngineName;

    /// <summary>Whether the session is open.</summary>
    public bool IsOpen => _opened.IsValueCreated;

    /// <summary>The model file's size in bytes: what its weights take in memory, near enough.</summary>
    public long FileBytes { get; private set; }

    /// <summary>Opens the session now (startup); false, with the reason already reported, when the model cannot be opened.</summary>
    public bool TryOpen()
    {
        try
        {
            _ = _opened.Value;
            return true;
        }
        catch (SpeechEngineUnavailableException)
        {
            return false;
        }
    }

    public async Task SynthesizeAsync(SpeechRequest request, IPcmSink sink, CancellationToken cancellationToken = default)
    {
        var opened = await OpenedAsync().ConfigureAwait(false);
        await Run(() => opened.Engine.SynthesizeAsync(request, sink, cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>Speaks the items in one inference per speed (Piper only); an item's own token drops only that item's audio.</summary>
    public async Task SynthesizeBatchAsync(IReadOnlyList<PiperBatchItem> items, CancellationToken cancellationToken = default)
    {
        var opened = await OpenedAsync().ConfigureAwait(false);
        if (opened.Engine is not PiperEngine piper)
        {
            throw new InvalidOperationException($"{ModelPath}: a {Name} model takes no batch.");
        }

        await Run(() => piper.SynthesizeBatchAsync(items, cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>Closes the model's sessions once no inference runs in them: a session disposed under a running inference frees memory
    /// the inference is using, and the process crashes. Runs still going after <see cref="s_runsEndTimeout"/> keep the sessions open
    /// for the rest of the process.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            var deadline = Environment.TickCount64 + (long)s_runsEndTimeout.TotalMilliseconds;
            while (_running > 0)
            {
                var left = deadline - Environment.TickCount64;
                if (left <= 0)
                {
                    return;
                }

                Monitor.Wait(_gate, (int)left);
            }
        }

        if (_opened.IsValueCreated)
        {
            _opened.Value.Model.Dispose();
        }
    }

    /// <summary>Runs one inference in the model, counted while it runs; refused once the model is being closed.</summary>
    private async Task Run(Func<Task> inference)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                throw new SpeechEngineUnavailableException($"The {Name} model {ModelPath} is closed: the silo is stopping.");
            }

            _running++;
        }

        try
        {
            await inference().ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                if (--_running == 0)
                {
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }

    /// <summary>Inferences running in the model now.</summary>
    internal int Running()
    {
        lock (_gate)
        {
            return _running;
        }
    }

    /// <summary>The open model; a first open (lazy sessions) runs on the thread pool, never on the calling grain's thread.</summary>
    private ValueTask<Opened> OpenedAsync() =>
        _opened.IsValueCreated ? ValueTask.FromResult(_opened.Value) : new ValueTask<Opened>(Task.Run(() => _opened.Value));

    private Opened Open(string engine, string modelPath, OnnxSessionFactory sessions, IPhonemizer phonemizer)
    {
        try
        {
            FileBytes = new FileInfo(modelPath).Length;
            if (engine == PiperEngine.EngineName)
            {
                var piper = PiperModel.Open(modelPath, sessions);
                return new Opened(new PiperEngine(piper, phonemizer), piper);
            }

            if (engine == KokoroEngine.EngineName)
            {
                var folder = Path.GetDirectoryName(modelPath)!;
                var voices = KokoroVoicePack.Load(Path.Combine(folder, NeuralVoiceDiscovery.KokoroVoicesFile));
                var vocabulary = KokoroVocabulary.Load(Path.Combine(folder, NeuralVoiceDiscovery.KokoroConfigFile));
                var kokoro = KokoroModel.Open(modelPath, sessions);
                return new Opened(new KokoroEngine(kokoro, voices, vocabulary, phonemizer), kokoro);
            }

            throw new InvalidDataException($"{modelPath}: engine '{engine}' is neither {PiperEngine.EngineName} nor {KokoroEngine.EngineName}.");
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            _failed(modelPath, e.Message);
            throw new SpeechEngineUnavailableException($"The {engine} model {modelPath} cannot be used: {e.Message}", e);
        }
    }

    private sealed record Opened(ISpeechEngine Engine, IDisposable Model);
}
