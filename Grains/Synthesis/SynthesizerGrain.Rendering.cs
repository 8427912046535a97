using MitTts.Grains.Interfaces;
using MitTts.Speech.Engines;

namespace MitTts.Grains.Synthesis;

/// <summary>The two ways a job is spoken: whole (one finished file at the end) or streamed (pieces as the engine makes them).</summary>
public sealed partial class SynthesizerGrain
{
    /// <summary>Speaks a whole job's remaining sentences into one buffer and finishes the file; true when it stopped early for waiting work.</summary>
    private async Task<bool> RunWholeAsync(ScheduledJob job)
    {
        var request = job.Job.Request;
        var output = job.Output.Writer;
        var cancellationToken = job.Cancellation.Token;
        if (job.Progress is null)
        {
            if (TryServeCached(job))
            {
                return false;
            }

            job.Progress = new SentenceProgress(SentencesOf(job));
        }

        var progress = job.Progress;
        var (voice, engine) = renderer.Resolve(request, Device);
        progress.SampleRate = engine.SampleRate;
        while (!progress.IsDone)
        {
            var index = progress.Next;
            var sentence = progress.Sentences[index];
            var started = time.GetTimestamp();
            if (engine.RunsInOrder)
            {
                started = await SpeakInOrder(job, index, engine, SpeechRenderer.EngineRequest(request, voice, engine, sentence), progress.Pcm);
            }
            else
            {
                await Task.Run(() => engine.SynthesizeAsync(SpeechRenderer.EngineRequest(request, voice, engine, sentence), progress.Pcm, cancellationToken), CancellationToken.None);
            }

            if (SentenceSpoken(job, sentence.Length, started))
            {
                return true;
            }

            if (!progress.IsDone)
            {
                output.TryWrite(new JobProgress((double)progress.Next / progress.Sentences.Count));
            }
        }

        // The engine is free once the last sentence is spoken: the file is encoded beside the next job, not before it.
        _ = FinishWholeAsync(job, engine);
        return false;
    }

    /// <summary>Speaks a streamed job's remaining sentences, handing out audio as the engine makes it; true when it stopped early for
    /// waiting work. Sentences before the job's <see cref="SynthesisJob.FromSentence"/> are spoken without being sent, so the encoder
    /// reaches the state the first run had there.</summary>
    private async Task<bool> RunStreamedAsync(ScheduledJob job)
    {
        var request = job.Job.Request;
        var output = job.Output.Writer;
        var cancellationToken = job.Cancellation.Token;
        if (job.Progress is null)
        {
            if (TryServeCached(job))
            {
                return false;
            }

            job.Progress = new SentenceProgress(SentencesOf(job));
        }

        var progress = job.Progress;
        var (voice, engine) = renderer.Resolve(request, Device);
        var stream = progress.Stream ??= await renderer.StartStream(request, voice, engine, cancellationToken, job.TaskId);
        var count = progress.Sentences.Count;
        while (!progress.IsDone)
        {
            var index = progress.Next;
            var sentence = progress.Sentences[index];
            var started = time.GetTimestamp();
            // The sentence's pieces go to the owner from the engine's thread as they become ready; its last one from here.
            stream.BeginSentence(sentence, SkipFor(job.Job, index), output, index, (double)index / count);
            var engineRequest = SpeechRenderer.EngineRequest(request, voice, engine, sentence);
            if (engine.RunsInOrder)
            {
                // A sentence handed ahead gives the stream what it already has, then the rest as the engine makes it.
                started = await SpeakInOrder(job, index, engine, engineRequest, stream);
            }
            else
            {
                await Task.Run(() => engine.SynthesizeAsync(engineRequest, stream, cancellationToken), CancellationToken.None);
            }

            stream.EndSentence();
            stream.TakePieces(index, sentenceComplete: true, (double)(index + 1) / count, output);

            if (SentenceSpoken(job, sentence.Length, started))
            {
                return true;
            }
        }

        CompleteStreamed(job, stream, engine);
        return false;
    }

    /// <summary>Answers a job that has not started from the audio cache; false when the cache has nothing for it.</summary>
    private bool TryServeCached(ScheduledJob job)
    {
        var request = job.Job.Request;
        var output = job.Output.Writer;
        if (!request.Streamed)
        {
            if (renderer.TryGetCached(request) is not { } whole)
            {
                return false;
            }

            output.TryWrite(new JobCompleted((int)(whole.DurationSeconds * 1000), whole));
            output.TryComplete();
            MetricsOf(request).CacheHit();
            return true;
        }

        if (request.WordTimestamps || job.Job is not { FromSentence: 0, FromByte: 0, Rendered: false } || renderer.TryGetCached(request) is not { } cached)
        {
            return false;
        }

        // One piece: sentence 0 is the whole file.
        var samples = (long)Math.Round(cached.DurationSeconds * cached.SampleRate);
        output.TryWrite(new SentenceAudio(0, 0, cached.Data, null, SentenceComplete: true, 1.0, samples));
        output.TryWrite(new JobCompleted((int)(cached.DurationSeconds * 1000), null, cached.SampleRate, CacheHit: true));
        output.TryComplete();
        MetricsOf(request).CacheHit();
        return true;
    }

    /// <summary><see cref="CompleteWholeAsync"/> run while the grain goes on with other jobs; a failure ends the job here.</summary>
    private async Task FinishWholeAsync(ScheduledJob job, ISpeechEngine engine)
    {
        try
        {
            await CompleteWholeAsync(job, engine);
        }
        catch (Exception e)
        {
            EndFailed(job, e);
        }
    }

    /// <summary>A whole job spoke its last sentence: its file is made (off the grain's thread) and handed to its owner.</summary>
    private async Task CompleteWholeAsync(ScheduledJob job, ISpeechEngine engine)
    {
        var progress = job.Progress!;
        var request = job.Job.Request;
        var started = time.GetTimestamp();
        double? cpuSeconds = null;
        var audio = await renderer.FinishOffThread(
            () =>
            {
                // The encoding's own CPU time where the platform gives it: its wall time also holds the wait for a free encoder, for a
                // core on a busy machine and for collections. CI: one 90-character MP3 file took 0.55 s instead of 26 ms, and the next
                // 3,900-character file was estimated at 25 s for 4.3 s.
                var before = ThreadCpu.Seconds();
                var made = renderer.Finish(progress.Pcm.Samples, progress.SampleRate, request, engine, job.TaskId);
                cpuSeconds = ThreadCpu.Seconds() - before;
                return made;
            },
            request.Format);
        if (!request.Uncounted)
        {
            // Not the gateway's warm-up: the first file of each format, made cold (libraries loading, code compiling), one word long.
            MeasureEncode(request.Format, request.Text.Length, cpuSeconds is { } cpu ? TimeSpan.FromSeconds(cpu) : time.GetElapsedTime(started));
        }

        MetricsOf(job.Job.Request).Spoken(engine.Name, audio.DurationSeconds, job.EngineSeconds);
        DropProgress(job);
        job.Output.Writer.TryWrite(new JobCompleted((int)(audio.DurationSeconds * 1000), audio));
        job.Output.Writer.TryComplete();
    }

    /// <summary>A streamed job spoke its last sentence: the tail the encoder still holds, numbered one past the last sentence, then the end.</summary>
    private void CompleteStreamed(ScheduledJob job, StreamedRendering stream, ISpeechEngine engine)
    {
        var output = job.Output.Writer;
        var count = job.Progress!.Sentences.Count;
        stream.BeginSentence(string.Empty, SkipFor(job.Job, count));
        stream.Complete();
        stream.TakePieces(count, sentenceComplete: true, 1.0, output);

        var duration = stream.DurationMs;
        MetricsOf(job.Job.Request).Spoken(engine.Name, duration / 1000.0, job.EngineSeconds);
        DropProgress(job);
        output.TryWrite(new JobCompleted(duration, null, stream.OutputRate));
        output.TryComplete();
    }

    /// <summary>How much of sentence <paramref name="index"/>'s audio the owner already has.</summary>
    private static long SkipFor(SynthesisJob job, int index) =>
        index < job.FromSentence ? long.MaxValue : index == job.FromSentence ? job.FromByte : 0;
}
