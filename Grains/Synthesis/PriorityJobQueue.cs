using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Synthesis;

/// <summary>A job in a synthesizer's queue, with how far it got if it was preempted.</summary>
public sealed class ScheduledJob(SynthesisJob job, long sequence, DateTimeOffset enqueuedAt)
{
    public SynthesisJob Job { get; } = job;

    public string TaskId => Job.TaskId;

    public Priority Priority { get; } = job.Request.Priority;

    /// <summary>Jobs of one session are served in order; a job without a session is a session of its own.</summary>
    public string SessionKey { get; } = job.Request.SessionId ?? job.TaskId;

    /// <summary>Its session's turn in the queue it waits in (set when it is queued): the queue's scans read the session's place from
    /// here instead of hashing its key once per waiting job.</summary>
    internal SessionTurn? Turn { get; set; }

    internal long EnqueuedAtTicks { get; } = enqueuedAt.UtcTicks;

    /// <summary>Arrival order on this device; a preempted job keeps it, so it resumes ahead of later jobs of its level.</summary>
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

/// <summary>A session's place in a queue's round robin: when it was last served; and scratch for <see cref="PriorityJobQueue.Place"/>.</summary>
internal sealed class SessionTurn
{
    public long LastServed;

    // Place's pass: the pass that last saw this session, and its first job at the asked level (sequence, characters).
    public long Pass;
    public long FirstSequence;
    public long FirstCharacters;
}

/// <summary>Per-device queue: CRITICAL before HIGH before NORMAL; within a level, round robin between sessions and FIFO
/// within a session; a NORMAL job waiting longer than the aging time is served as HIGH.</summary>
/// <remarks>Every choice is a scan of the waiting jobs (they age, so no order holds for long), made cheap: a job points at its
/// session's turn and knows its own enqueue time in ticks, so a scan hashes nothing (measured with <c>bench/MitTts.Bench.Load -- queue</c>).</remarks>
public sealed class PriorityJobQueue(TimeSpan aging)
{
    private readonly List<ScheduledJob> _jobs = [];
    private readonly Dictionary<string, SessionTurn> _turns = new(StringComparer.Ordinal);
    private readonly long _agingTicks = aging.Ticks;

    // Place's scratch, kept between calls (every queued job's position is asked): the sessions seen in its pass.
    private readonly List<SessionTurn> _heads = [];
    private long _pass;
    private long _served;

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

    public void Enqueue(ScheduledJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (!_turns.TryGetValue(job.SessionKey, out var turn))
        {
            _turns[job.SessionKey] = turn = new SessionTurn();
        }

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
        job.Turn!.LastServed = ++_served;
        if (_turns.Count > 4 * (_jobs.Count + 16))
        {
            ForgetIdleSessions();
        }

        return true;
    }

    /// <summary>The job <see cref="TryDequeue"/> would take now, left in the queue.</summary>
    public ScheduledJob? Peek(DateTimeOffset now)
    {
        var index = NextIndex(now.UtcTicks);
        return index < 0 ? null : _jobs[index];
    }

    /// <summary>Removes this very job (not another one of the same task); false when it is not waiting.</summary>
    public bool Remove(ScheduledJob job) => _jobs.Remove(job);

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
            job.Turn!.LastServed = ++_served;
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
    /// <see cref="TryDequeue"/>, in O(n log n): per level, sessions take turns in a heap keyed by when they were last served).</summary>
    public IReadOnlyList<ScheduledJob> ServiceOrder(DateTimeOffset now)
    {
        // Served as the order is walked, without touching the sessions' real turns.
        var lastServed = new Dictionary<SessionTurn, long>();
        var served = _served;
        var ticks = now.UtcTicks;
        var order = new List<ScheduledJob>(_jobs.Count);
        foreach (var level in new[] { Priority.Critical, Priority.High, Priority.Normal })
        {
            var sessions = new Dictionary<SessionTurn, Queue<ScheduledJob>>();
            foreach (var job in _jobs.Where(j => Effective(j, ticks) == level).OrderBy(j => j.Sequence))
            {
                if (!sessions.TryGetValue(job.Turn!, out var jobs))
                {
                    sessions[job.Turn!] = jobs = new Queue<ScheduledJob>();
                }

                jobs.Enqueue(job);
            }

            var turns = new PriorityQueue<Queue<ScheduledJob>, (long LastServed, long Sequence)>();
            foreach (var (session, jobs) in sessions)
            {
                turns.Enqueue(jobs, (lastServed.TryGetValue(session, out var walked) ? walked : session.LastServed, jobs.Peek().Sequence));
            }

            while (turns.TryDequeue(out var jobs, out _))
            {
                var job = jobs.Dequeue();
                order.Add(job);
                lastServed[job.Turn!] = ++served;
                if (jobs.Count > 0)
                {
                    turns.Enqueue(jobs, (served, jobs.Peek().Sequence));
                }
            }
        }

        return order;
    }

    /// <summary>Where <paramref name="job"/> stands in <see cref="ServiceOrder"/>: how many waiting jobs are served before it, and the
    /// characters of those and its own; null when it is not waiting.</summary>
    /// <remarks>Asked for every job a synthesizer takes, with hundreds waiting under load. A session's first job at the top waiting
    /// level (the usual case) is placed in one pass: sessions take turns in the order of when they were last served, so every session
    /// that comes before this one in that order serves its first job ahead of it, and no later one does. Anything else is read off
    /// the full order.</remarks>
    public (int Ahead, long Characters)? Place(ScheduledJob job, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(job);
        var ticks = now.UtcTicks;
        var level = Effective(job, ticks);
        var own = job.Turn;
        var ownKey = (own?.LastServed ?? 0, job.Sequence);
        var pass = ++_pass;
        _heads.Clear();
        var waiting = false;
        foreach (var other in _jobs)
        {
            var otherLevel = Effective(other, ticks);
            var turn = other.Turn!;
            if (otherLevel > level || (otherLevel == level && ReferenceEquals(turn, own) && other.Sequence < job.Sequence))
            {
                // A job waits above this one's level, or its session has an earlier one at this level: the full order says.
                return FromServiceOrder(job, now);
            }

            waiting |= ReferenceEquals(other, job);
            if (otherLevel != level || ReferenceEquals(turn, own))
            {
                continue;
            }

            if (turn.Pass != pass)
            {
                turn.Pass = pass;
                turn.FirstSequence = other.Sequence;
                turn.FirstCharacters = other.RemainingCharacters;
                _heads.Add(turn);
            }
            else if (other.Sequence < turn.FirstSequence)
            {
                turn.FirstSequence = other.Sequence;
                turn.FirstCharacters = other.RemainingCharacters;
            }
        }

        if (!waiting)
        {
            return null;
        }

        var ahead = 0;
        long characters = job.RemainingCharacters;
        foreach (var head in _heads)
        {
            if ((head.LastServed, head.FirstSequence).CompareTo(ownKey) < 0)
            {
                ahead++;
                characters += head.FirstCharacters;
            }
        }

        _heads.Clear();
        return (ahead, characters);
    }

    private (int Ahead, long Characters)? FromServiceOrder(ScheduledJob job, DateTimeOffset now)
    {
        long characters = 0;
        var order = ServiceOrder(now);
        for (var i = 0; i < order.Count; i++)
        {
            characters += order[i].RemainingCharacters;
            if (ReferenceEquals(order[i], job))
            {
                return (i, characters);
            }
        }

        return null;
    }

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

    /// <summary>Highest effective level first; within it the session served longest ago, then the oldest job of that session.</summary>
    private int NextIndex(long nowTicks)
    {
        var jobs = _jobs;
        var best = -1;
        var bestLevel = Priority.Normal;
        long bestServed = 0;
        for (var i = 0; i < jobs.Count; i++)
        {
            var job = jobs[i];
            var level = Effective(job, nowTicks);
            var served = job.Turn!.LastServed;
            if (best < 0
                || level > bestLevel
                || (level == bestLevel && (served < bestServed || (served == bestServed && job.Sequence < jobs[best].Sequence))))
            {
                best = i;
                bestLevel = level;
                bestServed = served;
            }
        }

        return best;
    }

    private void ForgetIdleSessions()
    {
        var waiting = new HashSet<string>(_jobs.Select(j => j.SessionKey), StringComparer.Ordinal);
        foreach (var session in _turns.Keys.Where(s => !waiting.Contains(s)).ToList())
        {
            _turns.Remove(session);
        }
    }
}
