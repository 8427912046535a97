using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Synthesis;

/// <summary>A job in a synthesizer's queue, with how far it got if it was preempted.</summary>
public sealed class ScheduledJob(SynthesisJob job, long sequence, DateTimeOffset enqueuedAt)
{
    public SynthesisJob Job { get; } = job;

    public string TaskId => Job.TaskId;

    /// <summary>The level it is served at: its request's, or higher when its owner raised it (<see cref="PriorityJobQueue.Raise"/>).</summary>
    public Priority Priority { get; internal set; } = job.Request.Priority;

    /// <summary>Jobs of one session are served in order; a job without a session is a session of its own.</summary>
    public string SessionKey { get; } = job.Request.SessionId ?? job.TaskId;

    /// <summary>Its session's bookkeeping in the queue it waits in (set when it is queued).</summary>
    internal SessionTurn? Turn { get; set; }

    /// <summary>Its place in its level's order (<see cref="PriorityJobQueue"/>), given when it is queued; -1 before that.</summary>
    internal long Tag { get; set; } = -1;

    internal long EnqueuedAtTicks { get; } = enqueuedAt.UtcTicks;

    /// <summary>Arrival order on this device, the tie-break between equal tags; a preempted job keeps it, so it resumes ahead of its own
    /// session's later jobs.</summary>
    public long Sequence { get; } = sequence;

    public DateTimeOffset EnqueuedAt { get; } = enqueuedAt;

    /// <summary>The trace of the call that asked for this job, so its span is not a child of whatever started the queue loop.</summary>
    public System.Diagnostics.ActivityContext Parent { get; } = System.Diagnostics.Activity.Current?.Context ?? default;

    /// <summary>Seconds the engine spent on this job so far (for its real-time factor).</summary>
    public double EngineSeconds { get; set; }

    /// <summary>Characters not yet spoken, for estimates.</summary>
    public int RemainingCharacters { get; set; } = job.Request.Text.Length;

    /// <summary>Set once synthesis started: the sentences, the next one to speak, and the audio so far.</summary>
    public SentenceProgress? Progress { get; set; }

    /// <summary>What the job's owner reads: queue position, audio, end. A streamed job's pieces are written from the engine's and the
    /// timer's threads (under its rendering's lock), the rest from the grain's.</summary>
    public System.Threading.Channels.Channel<SynthesisEvent> Output { get; } =
        System.Threading.Channels.Channel.CreateUnbounded<SynthesisEvent>(new() { SingleReader = true, SingleWriter = false, AllowSynchronousContinuations = false });

    /// <summary>Cancelled when the owner stops pulling (or cancels), queued or running.</summary>
    public CancellationTokenSource Cancellation { get; } = new();
}

/// <summary>A session's jobs waiting in one queue, per priority: how many, and the tag of the last one queued.</summary>
internal sealed class SessionTurn
{
    public readonly int[] Waiting = new int[3];
    public readonly long[] Tail = new long[3];

    public bool Idle => Waiting[0] == 0 && Waiting[1] == 0 && Waiting[2] == 0;
}

/// <summary>Per-device queue: CRITICAL before HIGH before NORMAL; a NORMAL job waiting longer than the aging time is served as HIGH.
/// Within a level, jobs go in the order they came (FIFO), except that a session with jobs already waiting at that level gets one
/// turn per round, so a session flooding the queue cannot starve another's single request.</summary>
/// <remarks>Start-time fair queuing with one unit per job. A job gets a tag when first queued: the tag of the last job taken
/// (<c>_virtual</c>), or, when its session already has a job waiting at its priority, one more than that job's, if that is later.
/// A job put back after it ran (preempted, or yielding to another session's first sentence) is tagged one past the last job taken,
/// so it goes behind the round it ran in, but never behind its own session's waiting jobs: it keeps its arrival (the tie-break).
/// The next job is the one of the highest level with the lowest (tag, arrival). So requests of sessions that wait for their previous
/// one to end (an agent, a stream asking for its next sentence) are served in arrival order: the earliest deadline first, where an
/// order by when each session was last served (the rule before) made one that came later overtake one that came earlier, and a
/// few of hundreds of real-time streams ran dry. Tags never change after that, so the service order is a sort and a job's place is
/// one pass (<see cref="Place"/>); aging changes a job's level, not its tag. Measured with <c>bench/MitTts.Bench.Load -- queue</c>.</remarks>
public sealed class PriorityJobQueue(TimeSpan aging)
{
    private readonly List<ScheduledJob> _jobs = [];
    private readonly Dictionary<string, SessionTurn> _turns = new(StringComparer.Ordinal);
    private readonly long _agingTicks = aging.Ticks;

    // The tag of the last job taken: a job of a session with nothing waiting at its level is tagged with it.
    private long _virtual;

    public int Count => _jobs.Count;

    public int CountAt(Priority priority)
    {
        var count = 0;
        foreach (var job in _jobs)
        {
            if (job.Priority == priority)
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>Queues a new job, or puts one back that ran: behind the round it ran in (it yielded to another session's first sentence),
    /// or, with <paramref name="keepPlace"/>, where it was (a CRITICAL job preempted it: FIFO within its level holds).</summary>
    public void Enqueue(ScheduledJob job, bool keepPlace = false)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (!_turns.TryGetValue(job.SessionKey, out var turn))
        {
            _turns[job.SessionKey] = turn = new SessionTurn();
        }

        var level = (int)job.Priority;
        if (job.Tag < 0)
        {
            job.Tag = turn.Waiting[level] > 0 ? Math.Max(_virtual, turn.Tail[level] + 1) : _virtual;
        }
        else if (keepPlace)
        {
            // Never behind a later job of its own session (the tie-break, its arrival, puts it first among equal tags).
            job.Tag = turn.Waiting[level] > 0 ? Math.Min(job.Tag, Tags(turn, job.Priority).First) : job.Tag;
        }
        else
        {
            // Put back (it yielded to a fresh job): behind the round it ran in, so whatever it yielded to goes first, but never behind a
            // later job of its own session.
            job.Tag = turn.Waiting[level] > 0 ? Math.Min(_virtual + 1, Tags(turn, job.Priority).First) : _virtual + 1;
        }

        turn.Tail[level] = turn.Waiting[level] > 0 ? Math.Max(turn.Tail[level], job.Tag) : job.Tag;
        turn.Waiting[level]++;
        job.Turn = turn;
        _jobs.Add(job);
    }

    public bool TryDequeue(DateTimeOffset now, out ScheduledJob job)
    {
        var index = NextIndex(now.UtcTicks);
        if (index < 0)
        {
            job = null!;
            return false;
        }

        job = _jobs[index];
        _jobs.RemoveAt(index);
        Taken(job);
        return true;
    }

    /// <summary>The job <see cref="TryDequeue"/> would take now, left in the queue.</summary>
    public ScheduledJob? Peek(DateTimeOffset now)
    {
        var index = NextIndex(now.UtcTicks);
        return index < 0 ? null : _jobs[index];
    }

    /// <summary>Removes this very job (not another one of the same task); false when it is not waiting.</summary>
    public bool Remove(ScheduledJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (!_jobs.Remove(job))
        {
            return false;
        }

        Left(job);
        return true;
    }

    /// <summary>Serves a waiting job at <paramref name="priority"/> from now (higher than its own), in its place by arrival there.</summary>
    public void Raise(ScheduledJob job, Priority priority)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (priority <= job.Priority || !_jobs.Remove(job))
        {
            return;
        }

        Left(job);
        job.Priority = priority;
        Enqueue(job, keepPlace: true);
    }

    /// <summary>The waiting job of <paramref name="taskId"/>, if any.</summary>
    public ScheduledJob? Find(string taskId)
    {
        foreach (var job in _jobs)
        {
            if (job.TaskId == taskId)
            {
                return job;
            }
        }

        return null;
    }

    /// <summary>Whether a job of <paramref name="priority"/> or above (after aging) is waiting.</summary>
    public bool HasWaiting(Priority priority, DateTimeOffset now)
    {
        var ticks = now.UtcTicks;
        foreach (var job in _jobs)
        {
            if (Effective(job, ticks) >= priority)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether a streamed job that has not spoken yet waits at <paramref name="priority"/> or above (after aging) for another session
    /// than <paramref name="session"/>: its first piece goes before the next sentence of that session's running job.</summary>
    public bool HasFreshWaiting(Priority priority, string session, DateTimeOffset now)
    {
        // Every waiting job of that session points at its turn; none does when it has none.
        var own = _turns.GetValueOrDefault(session);
        var ticks = now.UtcTicks;
        foreach (var job in _jobs)
        {
            if (job.Progress is null && job.Job.Request.Streamed && Effective(job, ticks) >= priority && !ReferenceEquals(job.Turn, own))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether a streamed job that has not spoken yet waits at <paramref name="priority"/> or above (after aging) for a session
    /// none of <paramref name="running"/> belongs to (a batch's jobs run together; waiting jobs of their sessions come after them anyway).</summary>
    public bool HasFreshWaiting(Priority priority, IReadOnlyList<ScheduledJob> running, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(running);
        var ticks = now.UtcTicks;
        foreach (var job in _jobs)
        {
            if (job.Progress is null && job.Job.Request.Streamed && Effective(job, ticks) >= priority && !HasSession(running, job.SessionKey))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Removes and returns, in service order, up to <paramref name="max"/> waiting jobs that can join a batch running at
    /// <paramref name="level"/>: each the next job of its session, of no session in <paramref name="running"/>, at exactly that level (after
    /// aging), and accepted by <paramref name="fits"/>. None while a job of a higher level waits: priority decides who is in a batch.</summary>
    public List<ScheduledJob> TakeCompanions(Priority level, IReadOnlyList<ScheduledJob> running, int max, Func<ScheduledJob, bool> fits, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(running);
        ArgumentNullException.ThrowIfNull(fits);
        var taken = new List<ScheduledJob>();
        if (max <= 0 || _jobs.Count == 0)
        {
            return taken;
        }

        var heads = new HashSet<string>(StringComparer.Ordinal);
        foreach (var job in ServiceOrder(now))
        {
            var effective = Effective(job, now.UtcTicks);
            if (effective > level)
            {
                return taken;
            }

            if (taken.Count >= max || effective < level)
            {
                break;
            }

            // Only a session's next job: a later one must not overtake it.
            if (heads.Add(job.SessionKey) && !HasSession(running, job.SessionKey) && fits(job))
            {
                taken.Add(job);
            }
        }

        foreach (var job in taken)
        {
            _jobs.Remove(job);
            Taken(job);
        }

        return taken;
    }

    /// <summary>The level a job is served at now: its own, or HIGH for a NORMAL job that waited past the aging time.</summary>
    public Priority LevelOf(ScheduledJob job, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Effective(job, now.UtcTicks);
    }

    /// <summary>Removes and returns every waiting job (the silo is stopping).</summary>
    public List<ScheduledJob> DrainAll()
    {
        var all = new List<ScheduledJob>(_jobs);
        _jobs.Clear();
        _turns.Clear();
        return all;
    }

    /// <summary>Characters waiting to be spoken, for work-ahead estimates.</summary>
    public long RemainingCharacters
    {
        get
        {
            long characters = 0;
            foreach (var job in _jobs)
            {
                characters += job.RemainingCharacters;
            }

            return characters;
        }
    }

    /// <summary>Every waiting job in the order it will be served if nothing else arrives (the same choices as
    /// <see cref="TryDequeue"/>): highest level first, then by tag and arrival.</summary>
    public IReadOnlyList<ScheduledJob> ServiceOrder(DateTimeOffset now)
    {
        var ticks = now.UtcTicks;
        var order = new List<ScheduledJob>(_jobs);
        order.Sort((a, b) => Compare(a, Effective(a, ticks), b, Effective(b, ticks)));
        return order;
    }

    /// <summary>Where <paramref name="job"/> stands in <see cref="ServiceOrder"/>: how many waiting jobs are served before it, and the
    /// characters of those and its own; null when it is not waiting. One pass: asked for every job a synthesizer takes, with hundreds
    /// waiting under load.</summary>
    public (int Ahead, long Characters)? Place(ScheduledJob job, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(job);
        var ticks = now.UtcTicks;
        var level = Effective(job, ticks);
        var waiting = false;
        var ahead = 0;
        long characters = job.RemainingCharacters;
        foreach (var other in _jobs)
        {
            if (ReferenceEquals(other, job))
            {
                waiting = true;
            }
            else if (Before(other, Effective(other, ticks), job, level))
            {
                ahead++;
                characters += other.RemainingCharacters;
            }
        }

        return waiting ? (ahead, characters) : null;
    }

    /// <summary>The lowest and highest tags of a session's jobs waiting at <paramref name="priority"/>.</summary>
    private (long First, long Last) Tags(SessionTurn turn, Priority priority)
    {
        var first = long.MaxValue;
        var last = long.MinValue;
        foreach (var job in _jobs)
        {
            if (ReferenceEquals(job.Turn, turn) && job.Priority == priority)
            {
                first = Math.Min(first, job.Tag);
                last = Math.Max(last, job.Tag);
            }
        }

        return (first, last);
    }

    private static bool Before(ScheduledJob a, Priority aLevel, ScheduledJob b, Priority bLevel) => Compare(a, aLevel, b, bLevel) < 0;

    /// <summary>The service order: the higher level first, then the lower tag, then the earlier arrival.</summary>
    private static int Compare(ScheduledJob a, Priority aLevel, ScheduledJob b, Priority bLevel) =>
        aLevel != bLevel ? bLevel.CompareTo(aLevel) : a.Tag != b.Tag ? a.Tag.CompareTo(b.Tag) : a.Sequence.CompareTo(b.Sequence);

    private static bool HasSession(IReadOnlyList<ScheduledJob> jobs, string session)
    {
        for (var i = 0; i < jobs.Count; i++)
        {
            if (string.Equals(jobs[i].SessionKey, session, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private Priority Effective(ScheduledJob job, long nowTicks) =>
        job.Priority == Priority.Normal && nowTicks - job.EnqueuedAtTicks >= _agingTicks ? Priority.High : job.Priority;

    /// <summary>Highest effective level first; within it the lowest tag, then the earliest arrival.</summary>
    private int NextIndex(long nowTicks)
    {
        var jobs = _jobs;
        var best = -1;
        var bestLevel = Priority.Normal;
        for (var i = 0; i < jobs.Count; i++)
        {
            var level = Effective(jobs[i], nowTicks);
            if (best < 0 || Before(jobs[i], level, jobs[best], bestLevel))
            {
                best = i;
                bestLevel = level;
            }
        }

        return best;
    }

    /// <summary>A job left the queue to run: later jobs of sessions with nothing waiting are tagged from it.</summary>
    private void Taken(ScheduledJob job)
    {
        _virtual = Math.Max(_virtual, job.Tag);
        Left(job);
    }

    private void Left(ScheduledJob job)
    {
        var turn = job.Turn!;
        var level = (int)job.Priority;
        turn.Waiting[level]--;
        if (turn.Idle && _turns.GetValueOrDefault(job.SessionKey) == turn)
        {
            _turns.Remove(job.SessionKey);
        }
        else if (turn.Waiting[level] > 0 && job.Tag == turn.Tail[level])
        {
            // The session's last job at this level left (cancelled): its next one is tagged from the job now last, not a round later.
            turn.Tail[level] = Tags(turn, job.Priority).Last;
        }
    }
}
