using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;

namespace MitTts.Speech.Engines.Espeak;

/// <summary>Owns libespeak-ng for the whole process: one dedicated thread initializes it and runs every job, one at a time.</summary>
/// <remarks>The library keeps global state and crashes when two threads enter it, so no other thread calls it, by construction.</remarks>
internal sealed unsafe class EspeakWorker
{
    private const int BufferLengthMs = 20;

    private static readonly Lazy<EspeakWorker> s_instance = new(() => new EspeakWorker(), LazyThreadSafetyMode.ExecutionAndPublication);

    // The job inside espeak_Synth right now; read by the callback, which runs on the worker thread.
    private static Job? s_current;

    private readonly BlockingCollection<Job> _jobs = [];
    private readonly TaskCompletionSource<int> _initialized = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _currentVoice;

    private EspeakWorker()
    {
        var thread = new Thread(Run) { IsBackground = true, Name = "espeak-ng" };
        thread.Start();
    }

    public static EspeakWorker Instance => s_instance.Value;

    public int SampleRate
    {
        get
        {
            try
            {
                return _initialized.Task.GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is not SpeechEngineUnavailableException)
            {
                throw new SpeechEngineUnavailableException("espeak-ng failed to initialize.", e);
            }
        }
    }

    public (bool Available, string? Reason) Probe()
    {
        try
        {
            _ = SampleRate;
            return (true, null);
        }
        catch (SpeechEngineUnavailableException e)
        {
            return (false, e.Message);
        }
    }

    public Task Enqueue(SpeechRequest request, IPcmSink sink, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        var job = new Job(request, sink, cancellationToken);
        _jobs.Add(job, CancellationToken.None);
        return job.Completion.Task;
    }

    private void Run()
    {
        try
        {
            var rate = EspeakNative.Initialize(EspeakNative.AudioOutputSynchronous, BufferLengthMs, null, EspeakNative.InitializeDontExit);
            if (rate <= 0)
            {
                throw new SpeechEngineUnavailableException($"espeak_Initialize failed ({rate}): is espeak-ng-data installed?");
            }

            EspeakNative.SetSynthCallback(&OnSynth);
            _initialized.TrySetResult(rate);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or SpeechEngineUnavailableException)
        {
            var error = e as SpeechEngineUnavailableException
                ?? new SpeechEngineUnavailableException("libespeak-ng.so.1 could not be loaded: install the Debian package libespeak-ng1.", e);
            _initialized.TrySetException(error);
            foreach (var job in _jobs.GetConsumingEnumerable())
            {
                job.Completion.TrySetException(error);
            }

            return;
        }

        foreach (var job in _jobs.GetConsumingEnumerable())
        {
            RunJob(job);
        }
    }

    private void RunJob(Job job)
    {
        if (job.Token.IsCancellationRequested)
        {
            job.Completion.TrySetCanceled(job.Token);
            return;
        }

        try
        {
            var request = job.Request;
            if (!string.Equals(_currentVoice, request.EngineVoice, StringComparison.Ordinal))
            {
                if (EspeakNative.SetVoiceByName(request.EngineVoice) != 0)
                {
                    _currentVoice = null;
                    throw new InvalidOperationException($"espeak-ng has no voice '{request.EngineVoice}'.");
                }

                _currentVoice = request.EngineVoice;
            }

            if (EspeakNative.SetParameter(EspeakNative.ParameterRate, RateFor(request.Speed), 0) != 0
                || EspeakNative.SetParameter(EspeakNative.ParameterPitch, PitchFor(request.Pitch), 0) != 0)
            {
                throw new InvalidOperationException("espeak_SetParameter failed.");
            }

            var text = Encoding.UTF8.GetBytes(request.Text + '\0');
            int result;
            s_current = job;
            try
            {
                fixed (byte* p = text)
                {
                    result = EspeakNative.Synth(p, (nuint)text.Length, 0, EspeakNative.PositionCharacter, 0, EspeakNative.CharsUtf8 | EspeakNative.EndPause, null, null);
                }
            }
            finally
            {
                s_current = null;
            }

            if (job.SinkFailure is not null)
            {
                job.Completion.TrySetException(job.SinkFailure);
            }
            else if (job.Token.IsCancellationRequested)
            {
                job.Completion.TrySetCanceled(job.Token);
            }
            else if (result != 0)
            {
                job.Completion.TrySetException(new InvalidOperationException($"espeak_Synth failed ({result})."));
            }
            else
            {
                job.Completion.TrySetResult();
            }
        }
        catch (Exception e)
        {
            job.Completion.TrySetException(e);
        }
    }

    /// <summary>Speed 1.0 is espeak-ng's normal 175 words per minute; its usable range is 80..450.</summary>
    internal static int RateFor(double speed) =>
        Math.Clamp((int)Math.Round(EspeakNative.RateNormal * speed), EspeakNative.RateMinimum, EspeakNative.RateMaximum);

    /// <summary>Pitch 1.0 is espeak-ng's base pitch 50 on its 0..100 scale.</summary>
    internal static int PitchFor(double pitch) =>
        Math.Clamp((int)Math.Round(EspeakNative.PitchNormal * pitch), 0, 100);

    [UnmanagedCallersOnly]
    private static int OnSynth(short* samples, int count, EspeakNative.Event* events)
    {
        var job = s_current;
        if (job is null)
        {
            return 1;
        }

        if (job.Token.IsCancellationRequested)
        {
            return 1;
        }

        if (samples is not null && count > 0)
        {
            try
            {
                job.Sink.Write(new ReadOnlySpan<short>(samples, count));
            }
            catch (Exception e)
            {
                // An exception must not unwind through native frames: keep it and abort the synthesis.
                job.SinkFailure = e;
                return 1;
            }
        }

        return 0;
    }

    private sealed class Job(SpeechRequest request, IPcmSink sink, CancellationToken token)
    {
        public SpeechRequest Request { get; } = request;

        public IPcmSink Sink { get; } = sink;

        public CancellationToken Token { get; } = token;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Exception? SinkFailure { get; set; }
    }
}
