using MitTts.Gateway.WebSockets;
using MitTts.Grains.Interfaces;

namespace MitTts.Tests.WebSockets;

/// <summary>After an interrupt, nothing more of the stopped tasks reaches the client, and other tasks are not held back.</summary>
public sealed class InterruptFilterTests
{
    [Fact]
    public void Nothing_of_a_stopped_task_passes_after_the_interrupt()
    {
        var filter = new InterruptFilter();
        Assert.True(filter.Admit(Started(1, "t1")));

        Assert.Equal(["t1"], filter.Interrupt(taskId: null, contextId: null).TaskIds);
        filter.LiftFence();

        Assert.False(filter.Admit(Audio(2, "t1")));
        Assert.False(filter.Admit(new TaskEndedEvent(3, "t1", null, null, SynthesisStatus.Cancelled, null, 0.5, 0)));
        Assert.True(filter.Admit(Started(4, "t2")));
    }

    [Fact]
    public void Interrupting_a_context_stops_its_tasks_only()
    {
        var filter = new InterruptFilter();
        filter.Admit(Started(1, "a", contextId: "c1"));
        filter.Admit(Started(2, "b", contextId: "c2"));
        filter.Submitted("queued-here");

        Assert.Equal(["a"], filter.Interrupt(taskId: null, contextId: "c1").TaskIds);
        filter.LiftFence();

        Assert.False(filter.Admit(Audio(3, "a")));
        Assert.True(filter.Admit(Audio(4, "b")));
    }

    [Fact]
    public void Interrupting_everything_stops_tasks_submitted_here_but_not_started()
    {
        var filter = new InterruptFilter();
        filter.Submitted("t1");

        Assert.Equal(["t1"], filter.Interrupt(null, null).TaskIds);
        Assert.False(filter.Admit(Started(1, "t1")));
    }

    [Fact]
    public void A_named_task_the_socket_has_no_record_of_is_held_back_but_left_to_the_channel_to_confirm()
    {
        var filter = new InterruptFilter();
        filter.Admit(Started(1, "finished"));
        filter.Admit(new TaskEndedEvent(2, "finished", null, null, SynthesisStatus.Completed, null, 1, 100));

        foreach (var named in new[] { "finished", "elsewhere" })
        {
            var stopped = filter.Interrupt(named, contextId: null);
            Assert.Equal((0, 0, named), (stopped.TaskIds.Count, stopped.Open.Count, stopped.Unheard));
        }

        Assert.False(filter.Admit(Started(3, "elsewhere")));
        Assert.True(filter.Admit(Started(4, "other")));
    }

    [Fact]
    public void Until_the_channel_answers_tasks_never_seen_are_held_back()
    {
        var filter = new InterruptFilter();
        filter.Interrupt(null, null);
        Assert.False(filter.Admit(Started(1, "unseen")));

        // The channel names what it stopped; anything else is a new task again.
        filter.Stop(["unseen"]);
        filter.LiftFence();
        Assert.False(filter.Admit(Audio(2, "unseen")));
        Assert.True(filter.Admit(Started(3, "new")));
    }

    [Fact]
    public void Naming_one_task_holds_back_no_other()
    {
        var filter = new InterruptFilter();
        Assert.Equal("t1", filter.Interrupt("t1", null).Unheard);
        Assert.True(filter.Admit(Started(1, "unseen")));
    }

    [Fact]
    public void A_task_that_ended_is_not_reported_stopped_by_a_later_interrupt()
    {
        var filter = new InterruptFilter();
        filter.Admit(Started(1, "t1"));
        filter.Admit(new TaskEndedEvent(2, "t1", null, null, SynthesisStatus.Completed, null, 1, 100));
        filter.Submitted("t2");
        filter.Forget("t2");

        Assert.Empty(filter.Interrupt(null, null).TaskIds);
    }

    [Fact]
    public void The_tasks_to_end_cancelled_are_those_the_client_waits_for_with_what_it_was_sent_of_them()
    {
        var filter = new InterruptFilter();
        filter.Submitted("playing", "r1");
        filter.Admit(new TaskStartedEvent(1, "playing", "r1", null));
        filter.Admit(new AudioEvent(2, "playing", "r1", null, [1, 2], 0.25));
        filter.Admit(new AudioEvent(3, "playing", "r1", null, [3, 4], 0.4));
        filter.Submitted("waiting", "r2");
        filter.Admit(new TaskStartedEvent(4, "spoken", "r3", "c1"));
        filter.Admit(new AudioEvent(5, "spoken", "r3", "c1", [5, 6], 0.5));
        filter.Admit(new TaskStartedEvent(6, "done", null, null));
        filter.Admit(new TaskEndedEvent(7, "done", null, null, SynthesisStatus.Completed, null, 1, 100));

        var stopped = filter.Interrupt(null, null);

        Assert.Equal(["playing", "spoken", "waiting"], stopped.TaskIds.Order());
        Assert.Equal(
            [new StoppedTask("playing", "r1", null, 0.4), new StoppedTask("spoken", "r3", "c1", 0.5), new StoppedTask("waiting", "r2", null, 0)],
            stopped.Open.OrderBy(t => t.TaskId, StringComparer.Ordinal));
    }

    [Fact]
    public void A_named_task_the_client_no_longer_waits_for_is_not_ended_again()
    {
        var filter = new InterruptFilter();
        filter.Admit(Started(1, "t1"));
        filter.Admit(new TaskEndedEvent(2, "t1", null, null, SynthesisStatus.Completed, null, 1, 100));

        Assert.Empty(filter.Interrupt("t1", null).Open);
        Assert.Empty(filter.Interrupt("never-seen", null).Open);
    }

    [Fact]
    public void An_end_the_interrupted_socket_announced_itself_never_passes_not_even_on_a_resumed_socket()
    {
        var resumed = new InterruptFilter();
        Assert.True(resumed.Admit(Started(1, "t1")));
        Assert.True(resumed.HasOpenTasks);

        Assert.False(resumed.Admit(new TaskEndedEvent(2, "t1", null, null, SynthesisStatus.Cancelled, null, 0.5, 0, Announced: true)));
        Assert.False(resumed.HasOpenTasks);
        Assert.True(resumed.Admit(new TaskEndedEvent(3, "t2", null, null, SynthesisStatus.Cancelled, null, 0, 0)));
    }

    [Fact]
    public void A_context_end_always_passes()
    {
        var filter = new InterruptFilter();
        filter.Interrupt(null, "c1");
        Assert.True(filter.Admit(new ContextEndedEvent(1, null, "c1")));
    }

    private static TaskStartedEvent Started(long sequence, string taskId, string? contextId = null) => new(sequence, taskId, null, contextId);

    private static AudioEvent Audio(long sequence, string taskId) => new(sequence, taskId, null, null, [1, 2], 0.5);
}
