using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Synthesis;

/// <summary>A job in a synthesizer's queue, with how far it got if it was preempted.</summary>
public sealed class ScheduledJob(SynthesisJob job, long sequence, DateTimeOffset enqueuedAt)
{
    public SynthesisJob Job { get; } = job;

    public string TaskId => Job.TaskId;

    public Priority Priority => Job.Request.Priority;

    /// <summary>Jobs of one session are served in order; a job without a session is a session of its own.</summary>
    public string SessionKey => Job.Request.SessionId ?? Job.TaskId;

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

/// <summary>Per-device queue: CRITICAL before HIGH before NORMAL; within a level, round robin between sessions and FIFO
/// within a session; a NORMAL job waiting longer than the aging time is served as HIGH.</summary>
public sealed class PriorityJobQueue(TimeSpan aging)
{
    private readonly List<ScheduledJob> _jobs = [];
    private readonly Dictionary<string, long> _lastServed = new(StringComparer.Ordinal);

    // Place's scratch, kept between calls (every queued job's position is asked): each waiting session's first job at the asked
    // one's level, as its sequence and remaining characters.
    private readonly Dictionary<string, (long Sequence, long Characters)> _firsts = new(StringComparer.Ordinal);
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
        _jobs.Add(job);
    }

    public bool TryDequeue(DateTimeOffset now, out ScheduledJob job)
    {
        var index = NextIndex(_jobs, _lastServed, now);
        if (index < 0)
        {
            job = null!;
            return false;
        }

        job = _jobs[index];
        _jobs.RemoveAt(index);
        _lastServed[job.SessionKey] = ++_served;
        if (_lastServed.Count > 4 * (_jobs.Count + 16))
        {
            ForgetIdleSessions();
        }

        return true;
    }

    /// <summary>The job <see cref="TryDequeue"/> would take now, left in the queue.</summary>
    public ScheduledJob? Peek(DateTimeOffset now)
    {
        var index = NextIndex(_jobs, _lastServed, now);
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
        foreach (var job in _jobs)
        {
            if (Effective(job, now) >= priority)
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
        foreach (var job in _jobs)
        {
            if (job.Progress is null && job.Job.Request.Streamed && Effective(job, now) >= priority && !string.Equals(job.SessionKey, session, StringComparison.Ordinal))
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
        foreach (var job in _jobs)
        {
            if (job.Progress is null && job.Job.Request.Streamed && Effective(job, now) >= priority && !HasSession(running, job.SessionKey))
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
            var effective = Effective(job, now);
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
            _lastServed[job.SessionKey] = ++_served;
        }

        return taken;
    }

    /// <summary>The level a job is served at now: its own, or HIGH for a NORMAL job that waited past the aging time.</summary>
    public Priority LevelOf(ScheduledJob job, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Effective(job, now);
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
        var lastServed = new Dictionary<string, long>(_lastServed, StringComparer.Ordinal);
        var served = _served;
        var order = new List<ScheduledJob>(_jobs.Count);
        foreach (var level in new[] { Priority.Critical, Priority.High, Priority.Normal })
        {
            var sessions = new Dictionary<string, Queue<ScheduledJob>>(StringComparer.Ordinal);
            foreach (var job in _jobs.Where(j => Effective(j, now) == level).OrderBy(j => j.Sequence))
            {
                if (!sessions.TryGetValue(job.SessionKey, out var jobs))
                {
                    sessions[job.SessionKey] = jobs = new Queue<ScheduledJob>();
                }

                jobs.Enqueue(job);
            }

            var turns = new PriorityQueue<Queue<ScheduledJob>, (long LastServed, long Sequence)>();
            foreach (var (session, jobs) in sessions)
            {
                turns.Enqueue(jobs, (lastServed.GetValueOrDefault(session), jobs.Peek().Sequence));
            }

            while (turns.TryDequeue(out var jobs, out _))
            {
                var job = jobs.Dequeue();
                order.Add(job);
                lastServed[job.SessionKey] = ++served;
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
        var level = Effective(job, now);
        var ownKey = (_lastServed.GetValueOrDefault(job.SessionKey), job.Sequence);
        _firsts.Clear();
        var waiting = false;
        foreach (var other in _jobs)
        {
            var otherLevel = Effective(other, now);
            if (otherLevel > level || (otherLevel == level && other.SessionKey == job.SessionKey && other.Sequence < job.Sequence))
            {
                // A job waits above this one's level, or its session has an earlier one at this level: the full order says.
                return FromServiceOrder(job, now);
            }

            waiting |= ReferenceEquals(other, job);
            if (otherLevel == level && other.SessionKey != job.SessionKey
                && (!_firsts.TryGetValue(other.SessionKey, out var first) || other.Sequence < first.Sequence))
            {
                _firsts[other.SessionKey] = (other.Sequence, other.RemainingCharacters);
            }
        }

        if (!waiting)
        {
            return null;
        }

        var ahead = 0;
        long characters = job.RemainingCharacters;
        foreach (var (session, first) in _firsts)
        {
            if ((_lastServed.GetValueOrDefault(session), first.Sequence).CompareTo(ownKey) < 0)
            {
                ahead++;
                characters += first.Characters;
            }
        }

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

    private Priority Effective(ScheduledJob job, DateTimeOffset now) =>
        job.Priority == Priority.Normal && now - job.EnqueuedAt >= aging ? Priority.High : job.Priority;

    /// <summary>Highest effective level first; within it the session served longest ago, then the oldest job of that session.</summary>
    private int NextIndex(List<ScheduledJob> jobs, Dictionary<string, long> lastServed, DateTimeOffset now)
    {
        var best = -1;
        var bestLevel = Priority.Normal;
        long bestServed = 0;
        for (var i = 0; i < jobs.Count; i++)
        {
            var job = jobs[i];
            var level = Effective(job, now);
            var served = lastServed.GetValueOrDefault(job.SessionKey);
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
        foreach (var session in _lastServed.Keys.Where(s => !waiting.Contains(s)).ToList())
        {
            _lastServed.Remove(session);
        }
    }
}
