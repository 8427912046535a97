using System.Buffers;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;

namespace MitTts.Grains.Channels;

/// <summary>One streamed task of a channel: its place in line, the audio it received and where that leaves it, and its end.</summary>
internal sealed class ChannelItem(ChannelTaskInfo info, SynthesisRequest request, long order, CancellationTokenSource? cancellation = null)
{
    public ChannelTaskInfo Info { get; } = info;

    public string TaskId => Info.TaskId;

    public SynthesisRequest Request { get; } = request;

    public Priority Priority => Request.Priority;

    /// <summary>The level its job is served at: its own, or that of a task of the session waiting behind it (priority inheritance).</summary>
    public Priority SpeaksAt { get; set; } = request.Priority;

    /// <summary>Its job was queued with nothing ahead of it on its device: its synthesis starts at once.</summary>
    public bool StartsAtOnce { get; set; }

    public long Order { get; } = order;

    /// <summary>Cancels the task's synthesis (interrupt, abandon).</summary>
    public CancellationTokenSource Cancellation { get; } = cancellation ?? new();

    /// <summary>Events made but not yet in the log: the task waits for its turn on the socket.</summary>
    public List<(ChannelEvent Event, AudioPosition Position)> Pending { get; } = [];

    /// <summary>What arrived: the sentence being received and how many of its bytes, where a re-run picks up.</summary>
    public AudioPosition Received { get; set; } = new(0, 0, 0);

    /// <summary>Whether the task's Ogg stream now comes from a replacement rendering (<see cref="OggSplice"/>); set when its job is
    /// started again.</summary>
    public bool OggReplacing
    {
        get => _oggReplacing;
        set
        {
            _oggReplacing = value;
            _oggSourceGranule = -1;
        }
    }

    private bool _oggReplacing;
    private long _oggSourceGranule = -1;

    /// <summary>What a reader has read of the task: what a durable channel saves.</summary>
    public bool ReadStarted { get; set; }

    public AudioPosition Read { get; set; } = new(0, 0, 0);

    /// <summary>Whether a save of the channel that knows the task has been written (durable mode): its events may go to a reader that
    /// outlives the channel before they are saved themselves.</summary>
    public bool Saved { get; set; }

    /// <summary>Whether its start went into the log.</summary>
    public bool Started { get; set; }

    /// <summary>Whether its end went into the log (it stays until a reader has read that end).</summary>
    public bool Ended { get; set; }

    /// <summary>A socket's interrupt stopped the task, and that socket tells its client (<see cref="TaskEndedEvent.Announced"/>).</summary>
    public bool EndAnnounced { get; set; }

    /// <summary>The whole file, joined from its pieces while they all came in order from the first byte; only for a task whose whole
    /// file is wanted (<c>stream:false</c>, or kept in the result store), so a plain stream holds nothing beyond its unread events.</summary>
    public ArrayBufferWriter<byte>? Whole { get; set; } = info.Whole || request.Store ? new() : null;

    // A stream:false task's words (when it asked for them), sent behind its whole file.
    private List<WordTiming>? _wholeWords;

    /// <summary>For a kept task of a restored channel: how far its reader had it. The task is rendered again from its start to make
    /// its whole file; what comes up to here goes into the file only, since the reader has it (from the earlier rendering).</summary>
    public AudioPosition? RebuildThrough { get; set; }

    public string? DeviceKey { get; set; }

    /// <summary>When the channel accepted the task and when its synthesis began (null for a task of a restored channel): sent with each
    /// report, so a task grain that lost its record with a silo stores the right times.</summary>
    public DateTimeOffset? CreatedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public double Progress { get; set; }

    public int DurationMs { get; set; }

    /// <summary>The rate of the delivered audio (from the synthesizer's end of the job).</summary>
    public int SampleRate { get; set; }

    public SynthesisStatus? EndStatus { get; set; }

    /// <summary>The completed report of a job that finished before its task's turn on the socket: recorded when the task starts there,
    /// so that a task stopped before any of it was heard (a barge-in) is recorded cancelled, as its socket hears it, not completed.</summary>
    public TaskProgress? DeferredCompletion { get; set; }

    /// <summary>Whether a barge-in or a cancel can still stop it: its synthesis runs, or ended well ahead of its turn with nothing of it
    /// sent yet (its audio waits in <see cref="Pending"/>).</summary>
    public bool Stoppable => EndStatus is null || (EndStatus == SynthesisStatus.Completed && !Started);

    public TaskError? Error { get; set; }

    /// <summary>For the first audio's stages (<see cref="StreamStageMetrics"/>), <see cref="System.Diagnostics.Stopwatch"/> timestamps: when
    /// the job was queued, then when the first piece with audio arrived (0 until then, and again once its event is in the log).</summary>
    public long QueuedAt { get; set; }

    public long FirstPieceAt { get; set; }

    /// <summary>The task grain's record of this task, written in order behind the audio path.</summary>
    public Task Recording { get; set; } = Task.CompletedTask;

    /// <summary>The task's end waiting for its completed record (null: it has not begun to); completed once the record landed or the
    /// wait timed out, and only then does the end go out: another pump in the meantime (a reader, a Track landing) must not take it out
    /// early.</summary>
    public Task? EndWait { get; set; }

    /// <summary>A text task whose id its task grain had not heard of ahead: it does not start (no client hears of it) until its Track
    /// is done, so a read of it through any gateway finds it; null once it may start.</summary>
    public Task? StartAfter { get; set; }

    /// <summary>Keeps the part of a piece the channel lacks (a re-run after a failover may send the start of a sentence again) and
    /// queues its events, each marked with where it leaves the task.</summary>
    public void Take(SentenceAudio piece)
    {
        ArgumentNullException.ThrowIfNull(piece);
        var at = Received;
        if (piece.Sentence != at.Sentence)
        {
            return;
        }

        var audio = piece.Audio;
        var samples = piece.Samples;
        var known = at.Bytes - piece.Offset;
        if (Request.Format == AudioFormat.Ogg)
        {
            // Pages, not bytes: a replacement rendering is spliced by granule (its bytes differ from the lost one's).
            var (spliced, ogg, kept) = OggSplice.Continue(audio, new OggSplice.State(at.OggPages, at.OggGranule, OggReplacing, _oggSourceGranule));
            _oggSourceGranule = ogg.SourceGranule;
            samples = (long)Math.Round(samples * kept);
            audio = spliced;
            at = at with { OggPages = ogg.Pages, OggGranule = ogg.Granule };
        }
        else if (known > 0)
        {
            // The samples the kept bytes stand for: exact for PCM and G.711 (bytes per sample fixed), proportional otherwise.
            var kept = known >= audio.Length ? 0 : audio.Length - (int)known;
            samples = SentenceAudio.SamplesFrom(samples, audio.Length, piece.HeaderBytes, known);
            audio = kept == 0 ? [] : audio[(int)known..];
        }
        else if (known < 0)
        {
            // A gap: never expected, since a re-run starts at the first byte missing; the whole file can no longer be joined.
            Whole = null;
        }

        Progress = piece.Progress;
        if (audio.Length > 0 || samples > 0)
        {
            var held = Held(at, audio.Length);
            at = Received = at with { Bytes = at.Bytes + audio.Length, Samples = at.Samples + samples };
            Whole?.Write(audio);
            if (audio.Length > held && !Info.Whole)
            {
                var sent = held == 0 ? audio : audio[held..];
                Pending.Add((new AudioEvent(0, TaskId, Info.RequestId, Info.ContextId, sent, piece.Progress), at));
            }
        }

        if (piece.SentenceComplete)
        {
            at = Received = at with { Sentence = at.Sentence + 1, Bytes = 0 };
        }

        if (RebuildThrough is { } through && (at.Sentence > through.Sentence || (at.Sentence == through.Sentence && at.Bytes >= through.Bytes)))
        {
            // Past what the reader had: from here on, the rebuilt rendering is the one it hears. The words of a sentence it had whole
            // stay unsent (they came with that sentence's end).
            RebuildThrough = null;
            if (at.Sentence <= through.Sentence)
            {
                return;
            }
        }

        if (piece.Words is { Count: > 0 } words && Request.WordTimestamps && RebuildThrough is null)
        {
            if (Info.Whole)
            {
                // Sent in one event behind the whole file (Complete), as its audio is.
                (_wholeWords ??= []).AddRange(words);
                return;
            }

            // Only for a task that asked for them (the engine reports words either way). They come with the piece that ends their
            // sentence: a reader holding them holds the whole sentence, so a restore from this event starts at the next one (from the
            // audio event before it, the words would be said again).
            Pending.Add((new WordsEvent(0, TaskId, Info.RequestId, Info.ContextId, words), at));
        }
    }

    /// <summary>How many of the <paramref name="length"/> bytes arriving at <paramref name="at"/> the reader already has from the
    /// rendering before a restore (<see cref="RebuildThrough"/>).</summary>
    private int Held(AudioPosition at, int length)
    {
        if (RebuildThrough is not { } through || at.Sentence > through.Sentence)
        {
            return 0;
        }

        return at.Sentence < through.Sentence ? length : (int)Math.Clamp(through.Bytes - at.Bytes, 0, length);
    }

    /// <summary>The job ended well: the duration counts the samples that arrived (after a failover they join two renderings whose
    /// lengths differ slightly), and a <c>stream:false</c> task gets its whole file as one event. Returns the whole file, for the
    /// task's record, when every piece arrived here.</summary>
    public AudioResult? Complete(JobCompleted completed)
    {
        ArgumentNullException.ThrowIfNull(completed);
        SampleRate = completed.SampleRate;
        DurationMs = completed.SampleRate > 0 ? (int)(Received.Samples * 1000 / completed.SampleRate) : completed.DurationMs;
        Progress = 1.0;
        EndStatus = SynthesisStatus.Completed;
        var result = WholeResult();
        if (Info.Whole && result is not null)
        {
            Pending.Add((new AudioEvent(0, TaskId, Info.RequestId, Info.ContextId, result.Data, 1.0), Received));
            if (_wholeWords is { Count: > 0 } words)
            {
                Pending.Add((new WordsEvent(0, TaskId, Info.RequestId, Info.ContextId, words), Received));
            }
        }

        return result;
    }

    /// <summary>The task's whole file, finished as its format wants (WAVE lengths), when every piece arrived here in order.</summary>
    public AudioResult? WholeResult()
    {
        if (Whole is not { WrittenCount: > 0 } whole)
        {
            return null;
        }

        var encoder = SpeechRenderer.Encoder(Request);
        var file = whole.WrittenSpan.ToArray();
        encoder.FinishWhole(file, Received.Samples);
        return new AudioResult(file, encoder.ContentType, encoder.FileExtension, SampleRate, DurationMs / 1000.0);
    }
}
