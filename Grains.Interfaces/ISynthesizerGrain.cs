using Orleans.Concurrency;

namespace MitTts.Grains.Interfaces;

/// <summary>A task's job for one synthesizer: speak <see cref="Request"/> from sentence <see cref="FromSentence"/>, leaving out the
/// first <see cref="FromByte"/> bytes of that sentence's audio (what the job's owner already has from an earlier run); with
/// <see cref="Rendered"/>, never answered from the audio cache (whose whole file is one piece, not the job's sentences).</summary>
[GenerateSerializer, Immutable]
public sealed record SynthesisJob(
    [property: Id(0)] string TaskId,
    [property: Id(1)] SynthesisRequest Request,
    [property: Id(2)] DateTimeOffset EnqueuedAt,
    [property: Id(3)] int FromSentence = 0,
    [property: Id(4)] long FromByte = 0,
    [property: Id(5)] bool Rendered = false);

/// <summary>What a synthesizer says about a job while its owner pulls it: one record per kind.</summary>
[GenerateSerializer, Immutable]
public abstract record SynthesisEvent;

/// <summary>The job waits in the queue of <see cref="DeviceKey"/> at <see cref="Position"/> (0 = next); sent when it is queued.</summary>
[GenerateSerializer, Immutable]
public sealed record JobQueued([property: Id(0)] string DeviceKey, [property: Id(1)] int Position, [property: Id(2)] double EstimatedSeconds) : SynthesisEvent;

/// <summary>The job was refused (its priority's queue is full); nothing else follows.</summary>
[GenerateSerializer, Immutable]
public sealed record JobRefused([property: Id(0)] TaskError Error) : SynthesisEvent;

/// <summary>The engine starts (or, after a preemption, resumes) the job.</summary>
[GenerateSerializer, Immutable]
public sealed record JobStarted([property: Id(0)] string DeviceKey) : SynthesisEvent;

/// <summary>Encoded audio of sentence <see cref="Sentence"/> (from 0), starting <see cref="Offset"/> bytes into that sentence's audio;
/// <see cref="Samples"/> output samples went into it (exactly its samples for PCM and G.711; an encoder may hold some back). Its first
/// <see cref="HeaderBytes"/> bytes are the container's header (the stream's first piece: WAV, G.711 WAV, FLAC, Ogg), not samples.</summary>
/// <remarks><see cref="SentenceComplete"/> marks the sentence's last piece, which carries its <see cref="Words"/> when they were asked
/// for. The piece numbered one past the last sentence is the stream's tail (what the encoder held back). Whole (not streamed) jobs send
/// no audio pieces, only <see cref="JobProgress"/>.</remarks>
[GenerateSerializer, Immutable]
public sealed record SentenceAudio(
    [property: Id(0)] int Sentence,
    [property: Id(1)] long Offset,
    [property: Id(2)] byte[] Audio,
    [property: Id(3)] IReadOnlyList<WordTiming>? Words,
    [property: Id(4)] bool SentenceComplete,
    [property: Id(5)] double Progress,
    [property: Id(6)] long Samples,
    [property: Id(7)] int HeaderBytes = 0) : SynthesisEvent
{
    /// <summary>Of <paramref name="samples"/> samples in <paramref name="length"/> bytes whose first <paramref name="headerBytes"/> are a
    /// header, those in the bytes from <paramref name="fromByte"/> on: exact where bytes per sample are fixed (PCM, G.711), shared by
    /// audio bytes otherwise. A re-run after a failover leaves out what its owner has, and the owner counts the task's duration from
    /// these: counted over the header too, a cut inside the stream's first piece lost tens of samples from the duration.</summary>
    public static long SamplesFrom(long samples, int length, int headerBytes, long fromByte)
    {
        var audioBytes = length - headerBytes;
        if (fromByte <= 0 || audioBytes <= 0)
        {
            return fromByte <= 0 ? samples : 0;
        }

        var skipped = Math.Clamp(fromByte - headerBytes, 0, audioBytes);
        return samples * (audioBytes - skipped) / audioBytes;
    }
}

/// <summary>A whole job spoke another sentence: the fraction of its text done.</summary>
[GenerateSerializer, Immutable]
public sealed record JobProgress([property: Id(0)] double Progress) : SynthesisEvent;

/// <summary>The job is done: <see cref="DurationMs"/> of audio in all; a whole job's file is <see cref="Audio"/>; a streamed job's
/// output rate is <see cref="SampleRate"/>, so its owner counts the duration from the samples it received; <see cref="CacheHit"/>: the
/// audio cache answered it, not the engine.</summary>
[GenerateSerializer, Immutable]
public sealed record JobCompleted([property: Id(0)] int DurationMs, [property: Id(1)] AudioResult? Audio, [property: Id(2)] int SampleRate = 0,
    [property: Id(3)] bool CacheHit = false) : SynthesisEvent;

/// <summary>The engine failed the job; nothing else follows.</summary>
[GenerateSerializer, Immutable]
public sealed record JobFailed([property: Id(0)] TaskError Error) : SynthesisEvent;

/// <summary>A synthesizer's load at one moment; for neural voices also its device's sessions and how many jobs shared an inference
/// (<see cref="Batches"/> inferences of more than one job, <see cref="BatchedJobs"/> job-sentences in them, the largest).</summary>
[GenerateSerializer, Immutable]
public sealed record SynthesizerStatus(
    [property: Id(0)] string DeviceKey,
    [property: Id(1)] bool Busy,
    [property: Id(2)] int QueueLength,
    [property: Id(3)] long Completed,
    [property: Id(4)] long Failed,
    [property: Id(5)] double SecondsPerCharacter,
    [property: Id(6)] double WorkAheadSeconds,
    [property: Id(7)] IReadOnlyDictionary<Priority, int> QueuedByPriority,
    [property: Id(8)] long Preemptions,
    [property: Id(9)] long Cancellations,
    [property: Id(10)] long Rejections,
    [property: Id(11)] string Node,
    [property: Id(12)] NeuralDeviceInfo? Neural = null,
    [property: Id(13)] long Batches = 0,
    [property: Id(14)] long BatchedJobs = 0,
    [property: Id(15)] int LargestBatch = 0);

/// <summary>A device's neural side: the ONNX Runtime provider its sessions run on, why it is not the one asked for (a <c>cuda:N</c>
/// device whose CUDA provider did not load runs on CPU), and the models it holds open.</summary>
[GenerateSerializer, Immutable]
public sealed record NeuralDeviceInfo(
    [property: Id(0)] string ExecutionProvider,
    [property: Id(1)] string? FallbackReason,
    [property: Id(2)] IReadOnlyList<LoadedModelInfo> Models);

/// <summary>A model with an open session: its file, engine and the file's size (what its weights take in memory, near enough).</summary>
[GenerateSerializer, Immutable]
public sealed record LoadedModelInfo([property: Id(0)] string Path, [property: Id(1)] string Engine, [property: Id(2)] long FileBytes);

/// <summary>One engine slot on one device of one silo (key: <c>{node}/{device}</c>, e.g. <c>silo-a/cpu:0</c>).</summary>
/// <remarks>Keeps the priority queue of its device and runs jobs sentence by sentence off the grain scheduler. The owner of a job
/// pulls it; the synthesizer never calls anyone back.</remarks>
public interface ISynthesizerGrain : IGrainWithStringKey
{
    /// <summary>Queues the job and streams what happens to it: <see cref="JobQueued"/> or <see cref="JobRefused"/> first, then
    /// <see cref="JobStarted"/>, its audio or progress sentence by sentence, and <see cref="JobCompleted"/> or <see cref="JobFailed"/>.</summary>
    /// <remarks>Priority (CRITICAL, HIGH, NORMAL), arrival order within a level (one turn per round for a session that already has work
    /// waiting), aging and preemption decide when it runs. Cancelling (or abandoning) the enumeration cancels the job, queued or running,
    /// within one engine buffer.</remarks>
    IAsyncEnumerable<SynthesisEvent> Synthesize(SynthesisJob job, CancellationToken cancellationToken = default);

    /// <summary>The job's position in service order (0 = running now), or null when it is not here.</summary>
    [AlwaysInterleave]
    Task<int?> GetQueuePosition(string taskId);

    /// <summary>Serves the job of <paramref name="taskId"/>, waiting or running, at <paramref name="priority"/> from now when that is
    /// higher than its own (nothing otherwise): its owner has higher-priority work that can only follow it (priority inheritance).</summary>
    [AlwaysInterleave]
    Task Raise(string taskId, Priority priority);

    /// <summary>The synthesizer's current load.</summary>
    [AlwaysInterleave]
    Task<SynthesizerStatus> GetStatus();

    /// <summary>Its silo is stopping: new jobs are refused, and every job it holds, queued or running, ends at once with a
    /// <c>SiloStoppingException</c>, so each owner re-issues it on another silo or (one process) says the server stopped.</summary>
    [AlwaysInterleave]
    Task StopForShutdown();
}
