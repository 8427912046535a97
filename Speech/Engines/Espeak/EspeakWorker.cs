using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace MitTts.Speech.Engines.Espeak;

/// <summary>Owns libespeak-ng for the whole process: one dedicated thread initializes it and runs every job, one at a time.</summary>
/// <remarks>The library keeps global state and crashes when two threads enter it, so no other thread calls it, by construction.</remarks>
internal sealed unsafe partial class EspeakWorker
{
    private const int BufferLengthMs = 20;

    private static readonly Lazy<EspeakWorker> s_instance = new(() => new EspeakWorker(), LazyThreadSafetyMode.ExecutionAndPublication);

    // The job inside espeak_Synth right now; read by the callback, which runs on the worker thread.
    private static Job? s_current;

    // Synthesis jobs and phonemization requests share the one thread, so neither can enter the library while the other is in it.
    private readonly BlockingCollection<Work> _jobs = [];
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

    /// <summary>Phonemizes <paramref name="text"/> with <paramref name="voice"/> on the worker thread: IPA, one string per sentence.</summary>
    public Task<IReadOnlyList<string>> EnqueuePhonemize(string text, string voice, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<IReadOnlyList<string>>(cancellationToken);
        }

        var work = new PhonemizeWork(text, voice, cancellationToken);
        _jobs.Add(work, CancellationToken.None);
        return work.Completion.Task;
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
            foreach (var work in _jobs.GetConsumingEnumerable())
            {
                work.Fail(error);
            }

            return;
        }

        foreach (var work in _jobs.GetConsumingEnumerable())
        {
            switch (work)
            {
                case Job job:
                    RunJob(job);
                    break;
                case PhonemizeWork phonemize:
                    RunPhonemize(phonemize);
                    break;
            }
        }
    }

    private void SelectVoice(string voice)
    {
        if (string.Equals(_currentVoice, voice, StringComparison.Ordinal))
        {
            return;
        }

        if (EspeakNative.SetVoiceByName(voice) != 0)
        {
            _currentVoice = null;
            throw new InvalidOperationException($"espeak-ng has no voice '{voice}'.");
        }

        _currentVoice = voice;
    }

    private void RunPhonemize(PhonemizeWork work)
    {
        if (work.Token.IsCancellationRequested)
        {
            work.Completion.TrySetCanceled(work.Token);
            return;
        }

        try
        {
            SelectVoice(work.Voice);
            ResetClauseReader();
            var text = Encoding.UTF8.GetBytes(work.Text + '\0');
            var sentences = new EspeakPhonemizer.SentenceAssembler();
            fixed (byte* start = text)
            {
                var position = start;
                while (position is not null)
                {
                    var clauseStart = position;
                    var phonemes = EspeakNative.TextToPhonemes(&position, (int)EspeakNative.CharsUtf8, EspeakNative.PhonemesIpa);
                    var clauseEnd = position is null ? start + text.Length - 1 : BackOneCodePoint(position, clauseStart);
                    sentences.AddClause(
                        Marshal.PtrToStringUTF8((nint)phonemes) ?? string.Empty,
                        Encoding.UTF8.GetString(clauseStart, (int)(clauseEnd - clauseStart)));
                }
            }

            work.Completion.TrySetResult(sentences.Finish());
        }
        catch (Exception e)
        {
            work.Completion.TrySetException(e);
        }
    }

    /// <summary>espeak_Synth stopped by its callback leaves the clause reader holding the character it looked ahead at, and
    /// espeak_TextToPhonemes does not clear it (the next phonemes would start with it); a synthesis of nothing does.</summary>
    private static void ResetClauseReader()
    {
        byte nothing = 0;
        _ = EspeakNative.Synth(&nothing, 1, 0, EspeakNative.PositionCharacter, 0, EspeakNative.CharsUtf8, null, null);
    }

    /// <summary>The reader looks one code point ahead: the clause's own text ends one UTF-8 sequence before the returned pointer.</summary>
    private static byte* BackOneCodePoint(byte* position, byte* floor)
    {
        var p = position - 1;
        while (p > floor && (*p & 0xC0) == 0x80)
        {
            p--;
        }

        return p < floor ? floor : p;
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
            SelectVoice(request.EngineVoice);

            if (EspeakNative.SetParameter(EspeakNative.ParameterRate, RateFor(request.Speed), 0) != 0
                || EspeakNative.SetParameter(EspeakNative.ParameterPitch, PitchFor(request.Pitch), 0) != 0)
            {
                throw new InvalidOperationException("espeak_SetParameter failed.");
            }

            var text = Encoding.UTF8.GetBytes((request.Ssml ? EspeakSsml.Prepare(request.Text) : request.Text) + '\0');
            int result;
            s_current = job;
            try
            {
                fixed (byte* p = text)
                {
                    result = EspeakNative.Synth(p, (nuint)text.Length, 0, EspeakNative.PositionCharacter, 0, EspeakNative.CharsUtf8 | EspeakNative.EndPause | (request.Ssml ? EspeakNative.Ssml : 0), null, null);
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
    /// <remarks>Not an exact factor: espeak-ng shrinks pauses more than speech, so 350 speaks short sentences ×2.2–2.5 as fast and one
    /// long sentence ×1.7–1.9. A table measured over the catalogue's voices on both kinds of text gave these same rates within 2 %;
    /// and the failover test's re-render matched its first render less often at the table's 90 than at 88 for 0.5.</remarks>
    internal static int RateFor(double speed) => Math.Clamp((int)Math.Round(RateNormal * speed), RateMinimum, RateMaximum);

    private const int RateNormal = 175;
    private const int RateMinimum = 80;
    private const int RateMaximum = 450;

    /// <summary>The setting on espeak-ng's 0..100 pitch scale that raises the voice <paramref name="pitch"/> times (1.0 is 50), as far
    /// as the scale reaches (<see cref="EspeakScale.Pitch"/>).</summary>
    internal static int PitchFor(double pitch) => EspeakScale.Pitch.Setting(pitch);

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

        try
        {
            // Events come before the PCM they point into, as IWordSink promises: a word event's sample lies in this buffer.
            if (job.Words is not null && events is not null)
            {
                for (var e = events; e->Type != EspeakNative.EventListTerminated; e++)
                {
                    if (e->Type == EspeakNative.EventWord)
                    {
                        job.ReportWord(e->TextPosition, e->Length, e->Sample);
                    }
                }
            }

            if (samples is not null && count > 0)
            {
                job.Sink.Write(new ReadOnlySpan<short>(samples, count));
            }
        }
        catch (Exception e)
        {
            // An exception must not unwind through native frames: keep it and abort the synthesis.
            job.SinkFailure = e;
            return 1;
        }

        return 0;
    }

    private abstract class Work
    {
        public abstract void Fail(Exception error);
    }

    private sealed class PhonemizeWork(string text, string voice, CancellationToken token) : Work
    {
        public string Text { get; } = text;

        public string Voice { get; } = voice;

        public CancellationToken Token { get; } = token;

        public TaskCompletionSource<IReadOnlyList<string>> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Fail(Exception error) => Completion.TrySetException(error);
    }
}
