using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;

namespace MitTts.Tests.Grains;

/// <summary>Who may join a running batch: the queue's rules, without Orleans.</summary>
public sealed class BatchCompanionTests
{
    private static readonly DateTimeOffset s_start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly PriorityJobQueue _queue = new(TimeSpan.FromSeconds(10));
    private long _sequence;

    private ScheduledJob Job(string id, Priority priority, string? session = null, double atSeconds = 0, string voice = "en-test-1") =>
        new(new SynthesisJob(id, new SynthesisRequest("text", voice, AudioFormat.Wav, priority, session, 1, 1), s_start), ++_sequence, s_start.AddSeconds(atSeconds));

    private static bool SameVoice(ScheduledJob job) => job.Job.Request.VoiceId == "en-test-1";

    [Fact]
    public void Jobs_of_the_level_join_in_service_order_up_to_the_room_left()
    {
        var running = Job("run", Priority.Normal, "a");
        foreach (var job in (ScheduledJob[])[Job("b1", Priority.Normal, "b"), Job("c1", Priority.Normal, "c"), Job("d1", Priority.Normal, "d")])
        {
            _queue.Enqueue(job);
        }

        var joined = _queue.TakeCompanions(Priority.Normal, [running], 2, SameVoice, s_start);

        Assert.Equal(["b1", "c1"], joined.Select(j => j.TaskId));
        Assert.Equal(["d1"], _queue.ServiceOrder(s_start).Select(j => j.TaskId));
    }

    [Fact]
    public void Only_a_sessions_next_job_joins_and_never_one_of_a_running_session()
    {
        var running = Job("a1", Priority.Normal, "a");
        _queue.Enqueue(Job("a2", Priority.Normal, "a"));
        _queue.Enqueue(Job("b1", Priority.Normal, "b", voice: "es-female-1"));
        _queue.Enqueue(Job("b2", Priority.Normal, "b"));
        _queue.Enqueue(Job("c1", Priority.Normal, "c"));

        var joined = _queue.TakeCompanions(Priority.Normal, [running], 8, SameVoice, s_start);

        // a2 waits for a1 (same session); b2 must not overtake b1, which is another voice.
        Assert.Equal(["c1"], joined.Select(j => j.TaskId));
    }

    [Fact]
    public void Nothing_joins_while_a_higher_level_waits_or_from_another_level()
    {
        var running = Job("run", Priority.Normal, "a");
        _queue.Enqueue(Job("h1", Priority.High, "h", voice: "es-female-1"));
        _queue.Enqueue(Job("n1", Priority.Normal, "n"));

        Assert.Empty(_queue.TakeCompanions(Priority.Normal, [running], 4, SameVoice, s_start));

        var high = Job("runh", Priority.High, "x");
        Assert.Empty(_queue.TakeCompanions(Priority.High, [high], 4, SameVoice, s_start));
        Assert.Equal(2, _queue.Count);
    }

    [Fact]
    public void An_aged_normal_job_joins_a_high_batch()
    {
        var running = Job("runh", Priority.High, "x", atSeconds: 11);
        _queue.Enqueue(Job("old", Priority.Normal, "o"));

        var joined = _queue.TakeCompanions(Priority.High, [running], 4, SameVoice, s_start.AddSeconds(11));

        Assert.Equal(["old"], joined.Select(j => j.TaskId));
    }

    [Fact]
    public void A_fresh_stream_of_a_batch_session_does_not_preempt_the_batch()
    {
        var running = Job("a1", Priority.Normal, "a");
        var stream = new ScheduledJob(
            new SynthesisJob("a2", new SynthesisRequest("text", "en-test-1", AudioFormat.Pcm, Priority.Normal, "a", 1, 1) { Streamed = true }, s_start), ++_sequence, s_start);
        _queue.Enqueue(stream);

        Assert.False(_queue.HasFreshWaiting(Priority.Normal, [running], s_start));
        Assert.True(_queue.HasFreshWaiting(Priority.Normal, [Job("b1", Priority.Normal, "b")], s_start));
    }
}
