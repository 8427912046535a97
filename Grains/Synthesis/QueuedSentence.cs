using System.Diagnostics.CodeAnalysis;
using MitTts.Speech.Audio;
using MitTts.Speech.Engines;

namespace MitTts.Grains.Synthesis;

/// <summary>One sentence handed to an in-order engine (<see cref="ISpeechEngine.RunsInOrder"/>). Handed to it ahead of the synthesizer's
/// decision (<see cref="Job"/>, <see cref="Index"/>), it holds its audio and word times until the job takes it (<see cref="SpeakInto"/>):
/// what it holds goes to the job's sink in the order the engine made it, and the rest as the engine makes it. Dropped
/// (<see cref="Drop"/>), none of it reaches a job.</summary>
/// <remarks>The engine writes on its own thread and the job takes the sentence on the grain's, so both go through one lock; once taken,
/// each write goes straight on to the job's sink under it.</remarks>
[SuppressMessage("Design", "CA1001", Justification = "Freed once the engine is done with it (SpeakInto or Drop); a Dispose could free it under the engine.")]
internal sealed class QueuedSentence : IPcmSink, IWordSink
{
    // About one espeak-ng buffer (20 ms at 22,050 Hz).
    private const int ReplayChunk = 512;

    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _cancel;
    private readonly TimeProvider _time;
    private readonly Task _speaking;
    private PcmBuffer? _held;
    private List<(int TextOffset, int TextLength, long SampleOffset, int HeldSamples)>? _heldWords;
    private IPcmSink? _target;
    private IWordSink? _targetWords;
    private bool _dropped;
    private long _firstAudioAt;

    private QueuedSentence(ISpeechEngine engine, SpeechRequest request, TimeProvider time, ScheduledJob? job, int index, IReadOnlyList<string>? sentences,
        IPcmSink? target, CancellationToken jobCancellation)
    {
        Job = job;
        Index = index;
        Sentences = sentences;
        _time = time;
        _target = target;
        _targetWords = target as IWordSink;
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(jobCancellation);
        _speaking = engine.SynthesizeAsync(request, this, _cancel.Token);
    }

    /// <summary>A sentence its job takes at once: its audio goes straight to <paramref name="target"/>.</summary>
    /// <param name="engine">The in-order engine; the sentence waits in its queue behind those handed to it before.</param>
    /// <param name="request">The sentence as the engine speaks it.</param>
    /// <param name="time">The synthesizer's clock, for when the sentence's first audio came (<see cref="StartedAt"/>).</param>
    /// <param name="target">The job's sink.</param>
    /// <param name="jobCancellation">The job's cancellation: it stops the sentence too.</param>
    public static QueuedSentence For(ISpeechEngine engine, SpeechRequest request, TimeProvider time, IPcmSink target, CancellationToken jobCancellation) =>
        new(engine, request, time, null, 0, null, target, jobCancellation);

    /// <summary>Sentence <paramref name="index"/> of <paramref name="job"/>, handed to the engine before the job's turn: it holds its audio
    /// until the job takes it.</summary>
    /// <param name="engine">The in-order engine; the sentence waits in its queue behind those handed to it before.</param>
    /// <param name="request">The sentence as the engine speaks it.</param>
    /// <param name="time">The synthesizer's clock, for when the sentence's first audio came (<see cref="StartedAt"/>).</param>
    /// <param name="job">The job it is handed ahead for.</param>
    /// <param name="index">The job's sentence it is.</param>
    /// <param name="sentences">The job's sentences, when the job has not started (so they are split once).</param>
    /// <param name="jobCancellation">The job's cancellation: it stops the sentence too.</param>
    public static QueuedSentence Ahead(ISpeechEngine engine, SpeechRequest request, TimeProvider time, ScheduledJob job, int index,
        IReadOnlyList<string>? sentences, CancellationToken jobCancellation) =>
        new(engine, request, time, job, index, sentences, null, jobCancellation);

    public ScheduledJob? Job { get; }

    public int Index { get; }

    public IReadOnlyList<string>? Sentences { get; }

    /// <summary>When the engine began speaking the sentence (its first audio), or <paramref name="now"/> if it has not yet: the start of
    /// its engine time. A sentence handed ahead may have been spoken long before the job takes it.</summary>
    public long StartedAt(long now)
    {
        lock (_gate)
        {
            return _firstAudioAt != 0 ? Math.Min(_firstAudioAt, now) : now;
        }
    }

    /// <summary>Hands what the sentence holds to <paramref name="target"/>, then the rest as the engine makes it, and waits for its end.</summary>
    public async Task SpeakInto(IPcmSink target)
    {
        try
        {
            // Held audio needs no costly encoding (the synthesizer holds none that does), so it is handed on right here.
            Attach(target);
            await _speaking;
        }
        finally
        {
            Release();
        }
    }

    /// <summary>Stops the sentence (at once if the engine has not reached it); freed once the engine is done with it.</summary>
    public void Drop()
    {
        lock (_gate)
        {
            _dropped = true;
            _held?.Dispose();
            _held = null;
            _heldWords = null;
        }

        _cancel.Cancel();
        // Whatever it ended with (cancelled, most likely) is seen here and goes no further: its audio is not used.
        _speaking.ContinueWith(static (speaking, state) =>
        {
            _ = speaking.Exception;
            ((QueuedSentence)state!)._cancel.Dispose();
        }, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public void Write(ReadOnlySpan<short> samples)
    {
        lock (_gate)
        {
            if (_firstAudioAt == 0)
            {
                _firstAudioAt = _time.GetTimestamp();
            }

            if (_target is { } target)
            {
                target.Write(samples);
            }
            else if (!_dropped)
            {
                (_held ??= new PcmBuffer(8192)).Write(samples);
            }
        }
    }

    public void Word(int textOffset, int textLength, long sampleOffset)
    {
        lock (_gate)
        {
            if (_target is not null)
            {
                _targetWords?.Word(textOffset, textLength, sampleOffset);
            }
            else if (!_dropped)
            {
                (_heldWords ??= []).Add((textOffset, textLength, sampleOffset, _held?.Count ?? 0));
            }
        }
    }

    private void Attach(IPcmSink target)
    {
        lock (_gate)
        {
            if (_target is not null)
            {
                return;
            }

            // In the engine's order: each word before the audio that followed it.
            var words = target as IWordSink;
            var held = _held is { } buffer ? buffer.Samples : default;
            var given = 0;
            foreach (var (textOffset, textLength, sampleOffset, heldSamples) in _heldWords ?? [])
            {
                given = Replay(target, held, given, heldSamples);
                words?.Word(textOffset, textLength, sampleOffset);
            }

            Replay(target, held, given, held.Length);

            _held?.Dispose();
            _held = null;
            _heldWords = null;
            _target = target;
            _targetWords = words;
        }
    }

    /// <summary>Writes held samples <paramref name="from"/> to <paramref name="to"/> in engine-buffer-sized writes, as the engine made
    /// them: a stream hands its first piece out after the first of them is encoded, not after the whole sentence is.</summary>
    private static int Replay(IPcmSink target, ReadOnlySpan<short> held, int from, int to)
    {
        for (var offset = from; offset < to; offset += ReplayChunk)
        {
            target.Write(held[offset..Math.Min(to, offset + ReplayChunk)]);
        }

        return Math.Max(from, to);
    }

    private void Release()
    {
        lock (_gate)
        {
            _held?.Dispose();
            _held = null;
        }

        _cancel.Dispose();
    }
}
