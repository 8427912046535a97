using MitTts.Grains.Interfaces;
using MitTts.Speech.Engines;

namespace MitTts.Grains.Synthesis;

/// <summary>Keeps an in-order engine (espeak-ng's one worker thread) fed: while it speaks a sentence, the sentence the rules would give it
/// next already waits in its queue, so it goes on without waiting for this grain's turn and for its thread to wake up (under load, the
/// two took 1.5 ms a job, and the engine sat idle 27-53 % of the benchmark's 50-session rounds with jobs waiting).</summary>
/// <remarks>Nothing is decided ahead: when the grain gets to its decision, the same rules as always pick the next sentence. If it is the
/// one handed ahead, the job takes it with whatever audio it already has; if not (new work came, a job was cancelled), that one is
/// dropped at once and the engine stops it within one buffer. A job waiting in the queue is untouched until then: its position, state and
/// events are those of a waiting job.</remarks>
public sealed partial class SynthesizerGrain
{
    private QueuedSentence? _ahead;

    /// <summary>The sentence <paramref name="index"/> of <paramref name="job"/> in <paramref name="engine"/>'s queue, into
    /// <paramref name="sink"/>: the one handed ahead for it, or a new one.</summary>
    private QueuedSentence SentenceFor(ScheduledJob job, int index, ISpeechEngine engine, SpeechRequest request, IPcmSink sink)
    {
        if (_ahead is { } ahead && ReferenceEquals(ahead.Job, job) && ahead.Index == index)
        {
            _ahead = null;
            return ahead;
        }

        DropAheadUnlessFor(null);
        return QueuedSentence.For(engine, request, time, sink, job.Cancellation.Token);
    }

    /// <summary>A job's sentences when it starts: split already if its first one was handed ahead.</summary>
    private IReadOnlyList<string> SentencesOf(ScheduledJob job) =>
        _ahead is { Sentences: { } sentences } ahead && ReferenceEquals(ahead.Job, job) ? sentences : renderer.Sentences(job.Job.Request);

    /// <summary>Drops the sentence handed ahead unless it is <paramref name="job"/>'s (which may still take it).</summary>
    private void DropAheadUnlessFor(ScheduledJob? job)
    {
        if (_ahead is { } ahead && !ReferenceEquals(ahead.Job, job))
        {
            _ahead = null;
            ahead.Drop();
        }
    }

    /// <summary>The sentence being spoken on an in-order engine (handed to it and awaited), which the one handed ahead follows.</summary>
    private (ScheduledJob Job, int Index, ISpeechEngine Engine)? _speaking;

    /// <summary>Speaks sentence <paramref name="index"/> of <paramref name="job"/> on the in-order <paramref name="engine"/> into
    /// <paramref name="sink"/>, with the sentence that would follow it waiting in the engine's queue meanwhile.</summary>
    /// <returns>When the sentence's engine time began (its first audio, if it came before now).</returns>
    private async Task<long> SpeakInOrder(ScheduledJob job, int index, ISpeechEngine engine, SpeechRequest request, IPcmSink sink)
    {
        var current = SentenceFor(job, index, engine, request, sink);
        _speaking = (job, index, engine);
        try
        {
            Reconsider();
            var started = current.StartedAt(time.GetTimestamp());
            await current.SpeakInto(sink);
            return started;
        }
        finally
        {
            _speaking = null;
        }
    }

    /// <summary>Makes the sentence handed ahead the one that would follow the sentence being spoken as the queue stands now: the running
    /// job's next one, unless waiting work goes first, then that work's next one. Called when a sentence is handed to the engine and when
    /// the queue changes (a job came or left), so a CRITICAL job that comes takes the place of the sentence handed ahead at once.</summary>
    private void Reconsider()
    {
        if (_speaking is not { } speaking || _stopping)
        {
            return;
        }

        var (next, index) = Following(speaking.Job, speaking.Index);
        if (next is not null && _ahead is { } ahead && ReferenceEquals(ahead.Job, next) && ahead.Index == index)
        {
            return;
        }

        DropAheadUnlessFor(null);
        if (next is not null)
        {
            HandAhead(next, index, speaking.Engine);
        }
    }

    /// <summary>What the rules give the engine after sentence <paramref name="index"/> of <paramref name="job"/> (null: nothing).</summary>
    private (ScheduledJob? Job, int Index) Following(ScheduledJob job, int index)
    {
        var now = Now;
        if (index + 1 < job.Progress!.Sentences.Count && !job.Cancellation.IsCancellationRequested && !YieldsTo(job, now))
        {
            return (job, index + 1);
        }

        return _queue.Peek(now) is { } waiting && !waiting.Cancellation.IsCancellationRequested ? (waiting, waiting.Progress?.Next ?? 0) : (null, 0);
    }

    private void HandAhead(ScheduledJob next, int index, ISpeechEngine engine)
    {
        var request = next.Job.Request;
        if (request.Streamed && request.Format is not (AudioFormat.Pcm or AudioFormat.Wav or AudioFormat.Mulaw or AudioFormat.Alaw))
        {
            // Its audio would be held as PCM and encoded when the job takes it, off the engine's thread: measured, MP3 capacity fell from
            // 77-83 % to 34-50 % of raw, the encoding of held sentences waiting behind the pool's other work. Its encoder costs more than
            // the engine's wait (per second of audio, espeak-ng takes ~1.2 ms of the engine's thread, MP3 ~5 more, Opus ~13 more), so it
            // goes as before, one sentence at a time, encoded on the engine's thread as it is made.
            return;
        }

        try
        {
            var sentences = next.Progress is null ? renderer.Sentences(request) : null;
            var texts = next.Progress?.Sentences ?? sentences!;
            if (index >= texts.Count)
            {
                return;
            }

            var (voice, nextEngine) = renderer.Resolve(request, Device);
            if (ReferenceEquals(nextEngine, engine))
            {
                _ahead = QueuedSentence.Ahead(engine, SpeechRenderer.EngineRequest(request, voice, engine, texts[index]), time, next, index, sentences,
                    next.Cancellation.Token);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The job fails with this when it runs, as it always did; nothing goes ahead for it.
        }
    }

    /// <summary>Whether waiting work speaks before <paramref name="job"/>'s next sentence: a CRITICAL job (unless it is one), or the first
    /// sentence of a streamed job of another session at its level (CRITICAL included: sessions that all ask at that level all start soon).</summary>
    private bool YieldsTo(ScheduledJob job, DateTimeOffset now) =>
        (job.Priority != Priority.Critical && _queue.HasWaiting(Priority.Critical, now))
        || _queue.HasFreshWaiting(job.Priority, job.SessionKey, now);
}
