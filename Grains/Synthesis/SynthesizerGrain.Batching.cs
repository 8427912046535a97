using System.Runtime.CompilerServices;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis.Neural;
using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Onnx.Piper;

namespace MitTts.Grains.Synthesis;

/// <summary>Batches of Piper jobs: jobs of one model and speed waiting at the running job's level speak their next sentences in one
/// inference, step by step, joining and leaving between steps.</summary>
/// <remarks>Nobody waits for a batch to fill: a lone job is a batch of one. Who joins follows service order (each session's next job,
/// none while a higher level waits), and between steps the batch yields to a waiting CRITICAL job or a fresh one of another session as a
/// single job does. Cancelling a job drops it alone: its audio is left out of the step, and only when every job of the step is cancelled
/// is the inference itself terminated.</remarks>
public sealed partial class SynthesizerGrain
{
    private long _batches;
    private long _batchedJobs;
    private int _largestBatch;

    /// <summary>The model a job's voice runs on when this device batches it; null for every other job (espeak-ng pays one check).</summary>
    private NeuralModelSlot? BatchSlot(ScheduledJob job)
    {
        if (!neural.HasVoices || renderer.EngineFor(job.Job.Request, Device) is not NeuralModelSlot { TakesBatches: true } slot)
        {
            return null;
        }

        return neural.MaxBatch(Device) > 1 ? slot : null;
    }

    /// <summary>Runs <paramref name="leader"/> (just dequeued and started) with the companions that fit, until all are done, cancelled,
    /// failed, or yield to waiting work (then each goes back to the queue with its progress).</summary>
    private async Task RunBatchAsync(ScheduledJob leader, NeuralModelSlot slot)
    {
        var max = neural.MaxBatch(Device);
        var level = _queue.LevelOf(leader, Now);
        var speed = leader.Job.Request.Speed;
        var members = _companions;
        if (await JoinAsync(leader))
        {
            members.Add(leader);
        }

        await TopUpAsync(members, level, slot, speed, max);
        while (members.Count > 0)
        {
            await StepAsync(members, slot);
            if (members.Count == 0)
            {
                return;
            }

            await TopUpAsync(members, level, slot, speed, max);
            var now = Now;
            if ((level != Priority.Critical && _queue.HasWaiting(Priority.Critical, now)) || _queue.HasFreshWaiting(level, members, now))
            {
                foreach (var member in members)
                {
                    Requeue(member);
                }

                members.Clear();
            }
        }
    }

    /// <summary>Adds waiting jobs that fit (same model and speed, the batch's level, service order) up to <paramref name="max"/>.</summary>
    private async Task TopUpAsync(List<ScheduledJob> members, Priority level, NeuralModelSlot slot, double speed, int max)
    {
        var joining = _queue.TakeCompanions(
            level, members, max - members.Count, job => job.Job.Request.Speed == speed && ReferenceEquals(renderer.EngineFor(job.Job.Request, Device), slot), Now);
        foreach (var job in joining)
        {
            MetricsOf(job.Job.Request).Queued(job.Priority, -1);
            if (job.Cancellation.IsCancellationRequested)
            {
                continue;
            }

            if (job.Progress is null)
            {
                MetricsOf(job.Job.Request).Waited(job.Priority, Now - job.EnqueuedAt);
            }

            job.Output.Writer.TryWrite(new JobStarted(DeviceKey));
            if (await JoinAsync(job))
            {
                members.Add(job);
            }
        }
    }

    /// <summary>Gets a job ready to speak: served from the cache (false), or its sentences and, streamed, its encoder pipeline.</summary>
    private async Task<bool> JoinAsync(ScheduledJob job)
    {
        var request = job.Job.Request;
        try
        {
            if (job.Progress is null)
            {
                if (TryServeCached(job))
                {
                    _completed += Count(job.Job.Request);
                    return false;
                }

                job.Progress = new SentenceProgress(renderer.Sentences(request));
            }

            var (voice, engine) = renderer.Resolve(request, Device);
            job.Progress.SampleRate = engine.SampleRate;
            if (request.Streamed)
            {
                job.Progress.Stream ??= await renderer.StartStream(request, voice, engine, job.Cancellation.Token, job.TaskId);
            }

            return true;
        }
        catch (OperationCanceledException) when (job.Cancellation.IsCancellationRequested)
        {
            EndCancelled(job);
        }
        catch (Exception e)
        {
            EndFailed(job, e);
        }

        return false;
    }

    /// <summary>One inference: every member's next sentence as a row; then each member's audio goes out and finished members leave.</summary>
    private async Task StepAsync(List<ScheduledJob> members, NeuralModelSlot slot)
    {
        for (var i = members.Count - 1; i >= 0; i--)
        {
            if (members[i].Cancellation.IsCancellationRequested)
            {
                EndCancelled(members[i]);
                members.RemoveAt(i);
            }
        }

        if (members.Count == 0)
        {
            return;
        }

        var items = new PiperBatchItem[members.Count];
        var characters = 0;
        for (var i = 0; i < members.Count; i++)
        {
            var job = members[i];
            var request = job.Job.Request;
            var progress = job.Progress!;
            var sentence = progress.Sentences[progress.Next];
            characters += sentence.Length;
            var (voice, _) = renderer.Resolve(request, Device);
            progress.Stream?.BeginSentence(sentence, SkipFor(job.Job, progress.Next));
            items[i] = new PiperBatchItem(
                SpeechRenderer.EngineRequest(request, voice, slot, sentence), (IPcmSink?)progress.Stream ?? progress.Pcm, job.Cancellation.Token);
        }

        var started = time.GetTimestamp();
        using var everyoneCancelled = new CancellationTokenSource();
        var registrations = RegisterAll(members, everyoneCancelled);
        try
        {
            await Task.Run(() => slot.SynthesizeBatchAsync(items, everyoneCancelled.Token), CancellationToken.None);
        }
        catch (Exception e)
        {
            foreach (var job in members)
            {
                if (job.Cancellation.IsCancellationRequested)
                {
                    EndCancelled(job);
                }
                else
                {
                    EndFailed(job, e);
                }
            }

            members.Clear();
            return;
        }
        finally
        {
            foreach (var registration in registrations)
            {
                registration.Dispose();
            }
        }

        var elapsed = time.GetElapsedTime(started);
        Measure(characters, elapsed);
        foreach (var member in members)
        {
            // One run spoke every member's sentence: each is charged its share, for its real-time factor.
            member.EngineSeconds += elapsed.TotalSeconds / members.Count;
        }

        if (members.Count > 1)
        {
            _batches++;
            _batchedJobs += members.Count;
            _largestBatch = Math.Max(_largestBatch, members.Count);
        }

        for (var i = members.Count - 1; i >= 0; i--)
        {
            if (await SpokeAsync(members[i], slot))
            {
                members.RemoveAt(i);
            }
        }
    }

    /// <summary>Hands out a member's sentence; true when the member left the batch (finished or cancelled).</summary>
    private async Task<bool> SpokeAsync(ScheduledJob job, NeuralModelSlot slot)
    {
        if (job.Cancellation.IsCancellationRequested)
        {
            EndCancelled(job);
            return true;
        }

        var progress = job.Progress!;
        var index = progress.Next;
        job.RemainingCharacters = Math.Max(0, job.RemainingCharacters - progress.Sentences[index].Length);
        progress.Next++;
        var fraction = (double)progress.Next / progress.Sentences.Count;
        if (progress.Stream is { } stream)
        {
            stream.EndSentence();
            stream.TakePieces(index, sentenceComplete: true, fraction, job.Output.Writer);

            if (progress.IsDone)
            {
                CompleteStreamed(job, stream, slot);
            }
        }
        else if (progress.IsDone)
        {
            await CompleteWholeAsync(job, slot);
        }
        else
        {
            job.Output.Writer.TryWrite(new JobProgress(fraction));
        }

        if (progress.IsDone)
        {
            _completed += Count(job.Job.Request);
            return true;
        }

        return false;
    }

    /// <summary>Cancels <paramref name="everyone"/> once every member's own token is cancelled: only then is the inference terminated.</summary>
    private static CancellationTokenRegistration[] RegisterAll(List<ScheduledJob> members, CancellationTokenSource everyone)
    {
        var left = new StrongBox<int>(members.Count);
        var registrations = new CancellationTokenRegistration[members.Count];
        for (var i = 0; i < members.Count; i++)
        {
            registrations[i] = members[i].Cancellation.Token.Register(() =>
            {
                if (Interlocked.Decrement(ref left.Value) == 0)
                {
                    everyone.Cancel();
                }
            });
        }

        return registrations;
    }
}
