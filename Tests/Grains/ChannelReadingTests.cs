using Microsoft.Extensions.Logging.Abstractions;
using MitTts.Gateway.Channels;
using MitTts.Grains.Interfaces;

namespace MitTts.Tests.Grains;

/// <summary>What a channel counts as read is what its reader has: the gateway's reader asks one event at a time, so events that Orleans
/// would batch up on the silo side (and could lose with a silo gateway) are not counted as read before they reach it.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ChannelReadingTests(ClusterFixture cluster)
{
    private static readonly SynthesisRequest s_request = new(
        "One. Two. Three. Four.", "en-female-1", AudioFormat.Pcm, Priority.Normal, null, 1.0, 1.0, Streamed: true, Store: false);

    [Fact]
    public async Task Events_waiting_behind_the_one_a_reader_holds_are_not_dropped_as_read()
    {
        // Every event made before anyone reads (the task synthesized and recorded, its events released): a batching reader would be
        // sent all of them at once. How many there are depends on how the engine's pieces fall, so the count is read from the channel,
        // not from a reference run; word timestamps keep the audio cache (one piece) out of it.
        var taskId = "task_" + Guid.NewGuid().ToString("N");
        var channel = await Submit(taskId, s_request with { WordTimestamps = true });
        var task = cluster.Grains.GetGrain<ITaskGrain>(taskId);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        long released;
        while ((await task.GetSnapshot())?.Status != SynthesisStatus.Completed || (released = await channel.GetLastReleased()) != (await channel.GetWindow()).Last)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the task did not complete, or the channel did not release its events: {await task.GetSnapshot()}");
            await Task.Delay(50);
        }

        Assert.True(released > 4, $"{released} events: too few for the test to mean anything");

        await using (var reader = new ResumingChannelReader(channel, 0, "test", NullLogger.Instance, ChannelReaderHome.Client))
        {
            Assert.Equal(1, (await reader.Next(CancellationToken.None))!.Sequence);
            Assert.Equal(2, (await reader.Next(CancellationToken.None))!.Sequence);

            // The silo short of memory while the reader still listens: the channel drops what its reader has read, and only that.
            await channel.ShedBuffers();
            await channel.GetWindow();
        }

        // A reader that comes back after event 2 (its answer lost with a silo gateway) gets event 3 on, not a gap.
        // Every event once, in order, to the task's end.
        await using var again = new ResumingChannelReader(channel, 2, "test", NullLogger.Instance, ChannelReaderHome.Client);
        for (var sequence = 3L; ; sequence++)
        {
            var channelEvent = (await again.Next(CancellationToken.None))!;
            Assert.Equal(sequence, channelEvent.Sequence);
            if (channelEvent is TaskEndedEvent ended)
            {
                Assert.Equal(SynthesisStatus.Completed, ended.Status);
                Assert.True(sequence >= released, $"the task ended at {sequence}, before the {released} events released before reading");
                break;
            }
        }
    }

    [Fact]
    public async Task A_completed_task_ends_once_its_record_has_its_file()
    {
        var taskId = "task_" + Guid.NewGuid().ToString("N");
        var record = RecordGate.Hold(taskId);
        var channel = await Submit(taskId, s_request with { Store = true });
        await using var reader = new ResumingChannelReader(channel, 0, "test", NullLogger.Instance, ChannelReaderHome.Client);
        var ended = ReadUntilEnded(reader);

        // The record is held on its way in: the task's end must wait for it (up to the channel's RecordWait, 2 s). Half a second of
        // nothing is the test's own bound; the faulty order sent the end at once.
        await record.Reached;
        var early = await Task.WhenAny(ended, Task.Delay(TimeSpan.FromMilliseconds(500)));
        Assert.NotSame(ended, early);

        // Anything else that wakes the channel meanwhile (here its next task) leaves the end waiting: the end once went out on the first
        // such wake-up after its wait began.
        Assert.IsType<TaskAccepted>(await channel.Submit(new ChannelTaskInfo("task_" + Guid.NewGuid().ToString("N"), null, null), s_request));
        early = await Task.WhenAny(ended, Task.Delay(TimeSpan.FromMilliseconds(300)));
        Assert.NotSame(ended, early);
        record.Release();

        Assert.Equal(SynthesisStatus.Completed, (await ended).Status);
        var task = cluster.Grains.GetGrain<ITaskGrain>(taskId);
        Assert.Equal(SynthesisStatus.Completed, (await task.GetSnapshot())!.Status);
        Assert.NotNull(await task.GetAudio());
    }

    [Fact]
    public async Task A_completed_task_whose_record_is_late_reads_as_completed_once_its_reader_heard_the_end()
    {
        // Its completed report still on its way (a busy task grain's silo) when the channel stops waiting for it (RecordWait) and the
        // reader hears the end: a client that reads the task then must not find it still processing.
        var taskId = "task_" + Guid.NewGuid().ToString("N");
        var record = RecordGate.HoldOnItsWay(taskId);
        var session = "late-" + Guid.NewGuid().ToString("N");
        var channel = cluster.Grains.GetGrain<IAudioChannelGrain>(session);
        Assert.IsType<TaskAccepted>(await channel.Submit(new ChannelTaskInfo(taskId, null, null), s_request with { SessionId = session }));
        await using var reader = new ResumingChannelReader(channel, 0, "test", NullLogger.Instance, ChannelReaderHome.Client);
        var ended = await ReadUntilEnded(reader);
        Assert.True(ended.Status == SynthesisStatus.Completed, $"{ended.Status} {ended.Error}");
        Assert.True(record.Reached.IsCompleted, "the completed report never left the channel: the test holds nothing");

        try
        {
            var task = (await cluster.Grains.GetGrain<ITaskGrain>(taskId).GetSnapshot())!;
            Assert.True(task.Status == SynthesisStatus.Completed, $"{task.Status} {task.Error}");
            Assert.Equal(ended.DurationMs / 1000.0, task.AudioDurationSeconds!.Value, 3);
        }
        finally
        {
            record.Release();
        }
    }

    private static async Task<TaskEndedEvent> ReadUntilEnded(ResumingChannelReader reader)
    {
        while (true)
        {
            if (await reader.Next(CancellationToken.None) is TaskEndedEvent ended)
            {
                return ended;
            }
        }
    }

    private async Task<IAudioChannelGrain> Submit(string? taskId = null, SynthesisRequest? request = null)
    {
        var channel = cluster.Grains.GetGrain<IAudioChannelGrain>("reading-" + Guid.NewGuid().ToString("N"));
        var result = await channel.Submit(new ChannelTaskInfo(taskId ?? "task_" + Guid.NewGuid().ToString("N"), null, null), request ?? s_request);
        Assert.IsType<TaskAccepted>(result);
        return channel;
    }
}
