using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;

namespace MitTts.Tests.Grains;

public sealed class PriorityJobQueueTests
{
    private static readonly DateTimeOffset s_start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan s_aging = TimeSpan.FromSeconds(10);

    private long _sequence;

    private ScheduledJob Job(string id, Priority priority, string? session = null, double atSeconds = 0) =>
        new(new SynthesisJob(id, new SynthesisRequest("text", "es-female-1", AudioFormat.Wav, priority, session, 1, 1), s_start), ++_sequence, s_start.AddSeconds(atSeconds));

    private static List<string> Drain(PriorityJobQueue queue, DateTimeOffset now)
    {
        var order = new List<string>();
        while (queue.TryDequeue(now, out var job))
        {
            order.Add(job.TaskId);
        }

        return order;
    }

    [Fact]
    public void Critical_then_high_then_normal_and_fifo_within_a_level()
    {
        var queue = new PriorityJobQueue(s_aging);
        queue.Enqueue(Job("n1", Priority.Normal, "s"));
        queue.Enqueue(Job("h1", Priority.High, "s"));
        queue.Enqueue(Job("n2", Priority.Normal, "s"));
        queue.Enqueue(Job("c1", Priority.Critical, "s"));
        queue.Enqueue(Job("h2", Priority.High, "s"));

        Assert.Equal(["c1", "h1", "h2", "n1", "n2"], queue.ServiceOrder(s_start).Select(j => j.TaskId));
        Assert.Equal(["c1", "h1", "h2", "n1", "n2"], Drain(queue, s_start));
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void A_flooding_session_does_not_starve_a_single_request_of_another_session()
    {
        var queue = new PriorityJobQueue(s_aging);
        for (var i = 0; i < 500; i++)
        {
            queue.Enqueue(Job($"flood{i}", Priority.Normal, "flooder"));
        }

        queue.Enqueue(Job("single", Priority.Normal, "polite"));

        var order = Drain(queue, s_start);

        Assert.InRange(order.IndexOf("single"), 0, 1);
        Assert.Equal(Enumerable.Range(0, 500).Select(i => $"flood{i}"), order.Where(id => id != "single"));
    }

    [Fact]
    public void Sessions_take_turns_within_a_level()
    {
        var queue = new PriorityJobQueue(s_aging);
        queue.Enqueue(Job("a1", Priority.High, "a"));
        queue.Enqueue(Job("a2", Priority.High, "a"));
        queue.Enqueue(Job("a3", Priority.High, "a"));
        queue.Enqueue(Job("b1", Priority.High, "b"));
        queue.Enqueue(Job("b2", Priority.High, "b"));

        Assert.Equal(["a1", "b1", "a2", "b2", "a3"], Drain(queue, s_start));
    }

    [Fact]
    public void Requests_of_sessions_with_nothing_else_waiting_go_in_arrival_order_whenever_their_sessions_were_last_served()
    {
        // Agents and real-time streams ask for their next sentence when the last one ends: each waits for one request at a time, and
        // the one that asked first runs dry first. (An order by when each session was last served put "a" first here.)
        var queue = new PriorityJobQueue(s_aging);
        foreach (var session in (string[])["a", "b", "c"])
        {
            queue.Enqueue(Job($"{session}1", Priority.High, session));
        }

        Assert.Equal(["a1", "b1", "c1"], Drain(queue, s_start));
        queue.Enqueue(Job("c2", Priority.High, "c"));
        queue.Enqueue(Job("b2", Priority.High, "b"));
        queue.Enqueue(Job("a2", Priority.High, "a"));
        Assert.True(queue.TryDequeue(s_start, out var first));
        queue.Enqueue(Job("c3", Priority.High, "c"));

        Assert.Equal("c2", first.TaskId);
        Assert.Equal(["b2", "a2", "c3"], queue.ServiceOrder(s_start).Select(j => j.TaskId));
        Assert.Equal(["b2", "a2", "c3"], Drain(queue, s_start));
    }

    [Fact]
    public void A_job_put_back_goes_behind_the_other_sessions_of_its_round_and_ahead_of_its_own_sessions_later_jobs()
    {
        var queue = new PriorityJobQueue(s_aging);
        queue.Enqueue(Job("story", Priority.High, "s"));
        queue.Enqueue(Job("story-next", Priority.High, "s"));
        Assert.True(queue.TryDequeue(s_start, out var running));

        // While it speaks, another session's request comes; it yields (or is preempted) and is put back.
        queue.Enqueue(Job("reply", Priority.High, "r"));
        queue.Enqueue(running);

        Assert.Equal(["reply", "story", "story-next"], Drain(queue, s_start));
    }

    [Fact]
    public void A_session_whose_last_waiting_job_was_cancelled_keeps_its_turn_for_the_next_one()
    {
        var queue = new PriorityJobQueue(s_aging);
        queue.Enqueue(Job("s1", Priority.Normal, "s"));
        var cancelled = Job("s2", Priority.Normal, "s");
        queue.Enqueue(cancelled);
        Assert.True(queue.Remove(cancelled));
        queue.Enqueue(Job("t1", Priority.Normal, "t"));
        queue.Enqueue(Job("s3", Priority.Normal, "s"));
        queue.Enqueue(Job("t2", Priority.Normal, "t"));

        // One turn per session per round, as if s2 had never been asked for: s3 (asked before t2) is s's second turn, not its third.
        Assert.Equal(["s1", "t1", "s3", "t2"], Drain(queue, s_start));
    }

    [Fact]
    public void A_normal_job_waiting_past_the_aging_time_is_served_as_high()
    {
        var queue = new PriorityJobQueue(s_aging);
        queue.Enqueue(Job("old-normal", Priority.Normal, "a", atSeconds: 0));
        queue.Enqueue(Job("new-high", Priority.High, "b", atSeconds: 12));
        queue.Enqueue(Job("critical", Priority.Critical, "c", atSeconds: 12));

        Assert.Equal(["critical", "new-high", "old-normal"], queue.ServiceOrder(s_start.AddSeconds(5)).Select(j => j.TaskId));
        Assert.Equal(["critical", "old-normal", "new-high"], queue.ServiceOrder(s_start.AddSeconds(12)).Select(j => j.TaskId));
        Assert.True(queue.HasWaiting(Priority.High, s_start.AddSeconds(12)));
    }

    [Fact]
    public void A_preempted_job_put_back_resumes_before_later_jobs_of_its_level()
    {
        var queue = new PriorityJobQueue(s_aging);
        queue.Enqueue(Job("first", Priority.Normal, "a"));
        queue.Enqueue(Job("second", Priority.Normal, "a"));
        Assert.True(queue.TryDequeue(s_start, out var running));

        queue.Enqueue(running);

        Assert.Equal(["first", "second"], Drain(queue, s_start));
    }

    [Fact]
    public void A_job_a_critical_one_preempted_resumes_first_of_its_level_before_jobs_that_came_after_it()
    {
        // REST requests, each a session of its own: the oldest is running when a CRITICAL one comes.
        var queue = new PriorityJobQueue(s_aging);
        queue.Enqueue(Job("n0", Priority.Normal));
        Assert.True(queue.TryDequeue(s_start, out var running));
        queue.Enqueue(Job("n1", Priority.Normal));
        queue.Enqueue(Job("n2", Priority.Normal));
        queue.Enqueue(Job("critical", Priority.Critical));

        queue.Enqueue(running, keepPlace: true);

        Assert.Equal(["critical", "n0", "n1", "n2"], Drain(queue, s_start));
    }

    [Fact]
    public void A_raised_job_is_served_at_its_new_level_in_its_arrival_place_ahead_of_its_sessions_job_that_raised_it()
    {
        var queue = new PriorityJobQueue(s_aging);
        var playing = Job("playing", Priority.Normal, "s");
        queue.Enqueue(playing);
        queue.Enqueue(Job("other-high", Priority.High, "o"));
        queue.Enqueue(Job("other-normal", Priority.Normal, "o2"));
        queue.Enqueue(Job("urgent", Priority.Critical, "s"));
        queue.Enqueue(Job("other-critical", Priority.Critical, "o3"));

        queue.Raise(playing, Priority.Critical);

        Assert.Equal(Priority.Critical, playing.Priority);
        Assert.Equal(3, queue.CountAt(Priority.Critical));
        Assert.Equal(["playing", "urgent", "other-critical", "other-high", "other-normal"], Drain(queue, s_start));

        // Lower is no raise.
        var high = Job("high", Priority.High, "t");
        queue.Enqueue(high);
        queue.Raise(high, Priority.Normal);
        Assert.Equal(Priority.High, high.Priority);
    }

    [Fact]
    public void Removal_and_counts_per_level()
    {
        var queue = new PriorityJobQueue(s_aging);
        var n1 = Job("n1", Priority.Normal);
        queue.Enqueue(n1);
        queue.Enqueue(Job("h1", Priority.High));
        queue.Enqueue(Job("n2", Priority.Normal));

        Assert.Same(n1, queue.Find("n1"));
        Assert.False(queue.Remove(Job("n1", Priority.Normal)), "another job of the same task is not this one");
        Assert.True(queue.Remove(n1));
        Assert.False(queue.Remove(n1));
        Assert.Null(queue.Find("n1"));
        Assert.Equal(1, queue.CountAt(Priority.Normal));
        Assert.Equal(1, queue.CountAt(Priority.High));
        Assert.Equal(["h1", "n2"], queue.ServiceOrder(s_start).Select(j => j.TaskId));
    }

    [Theory]
    [InlineData(6)]
    [InlineData(80)]
    public void A_jobs_place_is_its_index_in_the_service_order_with_the_characters_up_to_it(int sessions)
    {
        // Few sessions: most have several jobs waiting (their tags chain); many: most have one (tagged with the last job taken).
        var random = new Random(sessions);
        for (var round = 0; round < 300; round++)
        {
            var queue = new PriorityJobQueue(s_aging);
            var count = random.Next(1, 60);
            for (var i = 0; i < count; i++)
            {
                var job = Job($"t{i}", (Priority)random.Next(3), $"s{random.Next(sessions)}", atSeconds: random.Next(20));
                job.RemainingCharacters = random.Next(1, 400);
                queue.Enqueue(job);

                // Now and then one is served, so sessions were last served at different times.
                if (random.Next(4) == 0)
                {
                    queue.TryDequeue(s_start.AddSeconds(random.Next(20)), out _);
                }
            }

            var now = s_start.AddSeconds(random.Next(30));
            var order = queue.ServiceOrder(now);
            long characters = 0;
            for (var i = 0; i < order.Count; i++)
            {
                characters += order[i].RemainingCharacters;
                Assert.Equal((i, characters), queue.Place(order[i], now));
            }

            Assert.Null(queue.Place(Job("gone", Priority.High, "s0"), now));
        }
    }
}

public sealed class SynthesisDispatcherTests
{
    private static SynthesizerStatus Device(string key, double workAhead, bool busy = false) =>
        new(key, busy, 0, 0, 0, 0.0002, workAhead, new Dictionary<Priority, int>(), 0, 0, 0, key.Split('/')[0]);

    [Fact]
    public void The_device_that_starts_soonest_comes_first_and_idle_beats_busy()
    {
        var ranked = SynthesisDispatcher.Rank([Device("a/cpu:0", 2.0), Device("b/cpu:0", 0, busy: true), Device("c/cpu:0", 0)], preferredNode: null);

        Assert.Equal(["c/cpu:0", "b/cpu:0", "a/cpu:0"], ranked.Select(d => d.DeviceKey));
    }

    [Fact]
    public void The_sessions_node_wins_a_near_tie_but_not_a_real_difference()
    {
        var nearTie = SynthesisDispatcher.Rank([Device("a/cpu:0", 0.01), Device("b/cpu:0", 0.02)], preferredNode: "b");
        var realDifference = SynthesisDispatcher.Rank([Device("a/cpu:0", 0.01), Device("b/cpu:0", 3.0)], preferredNode: "b");

        Assert.Equal("b/cpu:0", nearTie[0].DeviceKey);
        Assert.Equal("a/cpu:0", realDifference[0].DeviceKey);
    }
}

public sealed class PriorityJobQueueOrderTests
{
    [Fact]
    public void The_predicted_service_order_is_the_order_jobs_are_dequeued()
    {
        var random = new Random(7);
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var queue = new PriorityJobQueue(TimeSpan.FromSeconds(10));
        for (var i = 0; i < 300; i++)
        {
            var priority = (Priority)random.Next(3);
            var session = random.Next(4) == 0 ? null : $"s{random.Next(12)}";
            var request = new SynthesisRequest("text", "es-female-1", AudioFormat.Wav, priority, session, 1, 1);
            queue.Enqueue(new ScheduledJob(new SynthesisJob($"t{i}", request, start), i + 1, start.AddSeconds(random.Next(20))));
            if (i % 7 == 0)
            {
                queue.TryDequeue(start.AddSeconds(15), out _);
            }
        }

        var now = start.AddSeconds(25);
        var predicted = queue.ServiceOrder(now).Select(j => j.TaskId).ToList();
        var actual = new List<string>();
        while (queue.TryDequeue(now, out var job))
        {
            actual.Add(job.TaskId);
        }

        Assert.Equal(actual, predicted);
    }
}
