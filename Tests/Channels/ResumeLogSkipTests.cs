using MitTts.Grains.Channels;
using MitTts.Grains.Interfaces;

namespace MitTts.Tests.Channels;

/// <summary>Audio an interrupt dropped stays numbered but is never read again: a resume from the acknowledgement's sequence does not
/// replay the speech the barge-in stopped.</summary>
public sealed class ResumeLogSkipTests
{
    private static readonly DateTimeOffset s_now = new(2026, 12, 3, 10, 0, 0, TimeSpan.Zero);

    private static AudioEvent Audio(string taskId) => new(0, taskId, null, null, new byte[100], 0.5);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_stopped_tasks_events_after_what_the_client_heard_are_passed_over_and_others_read_in_order(bool movedToBlocks)
    {
        var log = new ResumeLog(TimeSpan.FromSeconds(30), 1 << 20, 1 << 24);
        foreach (var taskId in new[] { "stopped", "stopped", "other", "stopped", "stopped" })
        {
            log.Append(Audio(taskId), AudioPosition.None, s_now, release: true);
        }

        log.Append(new TaskStartedEvent(0, "next", null, null), AudioPosition.None, s_now, release: true);
        // The socket had read the first event, or all five (then dropped those of the stopped task): read audio leaves its arrays
        // for the blocks.
        log.Acknowledge(movedToBlocks ? 5 : 1);

        log.Skip(new HashSet<string> { "stopped" }, heardThrough: 1);

        var read = new List<(long, string?, bool)>();
        for (var next = 1L; log.TryGet(next, null, out var channelEvent, out _); next = channelEvent.Sequence + 1)
        {
            read.Add((channelEvent.Sequence, channelEvent.TaskId, channelEvent.AfterPassedOver));
        }

        // Each event after passed-over numbers says so: the reader reports no loss for them (it said events_dropped).
        Assert.Equal([(1L, "stopped", false), (3L, "other", true), (6L, "next", true)], read);
        Assert.True(log.TryGet(2, null, out var resumed, out _));
        Assert.Equal(3, resumed.Sequence);
        Assert.DoesNotContain(log.UnreadTasks(), t => t.TaskId == "stopped");
        Assert.Equal(movedToBlocks ? ["next"] : ["other", "next"], log.UnreadTasks().Select(t => t.TaskId));
        Assert.Equal(6, log.LastSequence);
    }
}
