using MitTts.Grains.Interfaces;
using MitTts.Tests.Support;

namespace MitTts.Tests.Scheduling;

/// <summary>The session channel on its own: what it keeps, drops and numbers when audio arrives twice (a task re-run after failover).</summary>
[Collection(SchedulingCollection.Name)]
public sealed class AudioChannelTests(SingleDeviceCluster cluster) : IDisposable
{
    public void Dispose() => ScriptedEngine.Reset();

    /// <summary>Holds the device with a paused job, so streamed tasks stay queued and only the test pushes their audio.</summary>
    private async Task HoldDevice(string text)
    {
        ScriptedEngine.Reset();
        ScriptedEngine.Pause();
        await cluster.NewTask().Submit(SchedulingCluster.Request(text));
        await ScriptedEngine.WaitUntilStarted(text);
    }

    [Fact]
    public async Task A_re_run_repeats_no_whole_sentence_and_no_byte_of_the_sentence_in_progress()
    {
        await HoldDevice("Blocker.");

        var session = "channel-" + Guid.NewGuid().ToString("N");
        var channel = cluster.Grains.GetGrain<IAudioChannelGrain>(session);
        var taskId = "task_" + Guid.NewGuid().ToString("N");
        var accepted = await channel.Submit(new ChannelTaskInfo(taskId, "req", null), SchedulingCluster.Request("One. Two.", session: session));
        Assert.Equal(SynthesisStatus.Queued, accepted.Status);

        byte[] Bytes(int from, int to) => [.. Enumerable.Range(from, to - from).Select(i => (byte)i)];
        await channel.PushAudio(new AudioBatch(taskId, 0, Bytes(0, 100), null, false, false, 0, Offset: 0));
        await channel.PushAudio(new AudioBatch(taskId, 0, Bytes(100, 200), [new WordTiming("One", 0, 90)], true, false, 0.5, Offset: 100));
        await channel.PushAudio(new AudioBatch(taskId, 1, Bytes(0, 50), null, false, false, 0.5, Offset: 0));

        // The silo died; the task runs again from the start on another one. The channel answers with the sentence it wants.
        Assert.Equal(1, await channel.PushAudio(new AudioBatch(taskId, 0, Bytes(0, 200), [new WordTiming("One", 0, 90)], true, false, 0.5, Offset: 0)));
        await channel.PushAudio(new AudioBatch(taskId, 1, Bytes(0, 30), null, false, false, 0.5, Offset: 0));
        await channel.PushAudio(new AudioBatch(taskId, 1, Bytes(30, 80), [new WordTiming("Two", 100, 180)], true, true, 1.0, DurationMs: 180, Offset: 30));

        var events = new List<ChannelEvent>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var channelEvent in channel.Listen(0, timeout.Token))
        {
            events.Add(channelEvent);
            if (channelEvent.Kind == ChannelEventKind.TaskEnded)
            {
                break;
            }
        }

        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        Assert.Equal(ChannelEventKind.TaskStarted, events[0].Kind);
        Assert.Equal(SynthesisStatus.Completed, events[^1].Status);
        Assert.Equal(180, events[^1].DurationMs);
        Assert.All(events, e => Assert.Equal("req", e.RequestId));
        var audio = events.Where(e => e.Kind == ChannelEventKind.Audio).SelectMany(e => e.Audio!).ToArray();
        Assert.Equal([.. Bytes(0, 200), .. Bytes(0, 80)], audio);
        Assert.Equal(["One", "Two"], events.Where(e => e.Kind == ChannelEventKind.Words).SelectMany(e => e.Words!).Select(w => w.Word));

        // The real job is still queued behind the blocker: take it off the device so the next test starts clean.
        Assert.True(await cluster.Grains.GetGrain<ITaskGrain>(taskId).Cancel());
    }

    [Fact]
    public async Task A_gap_is_refused_and_the_answer_names_the_sentence_to_speak_again()
    {
        await HoldDevice("Blocker three.");

        var session = "channel-" + Guid.NewGuid().ToString("N");
        var channel = cluster.Grains.GetGrain<IAudioChannelGrain>(session);
        var taskId = "task_" + Guid.NewGuid().ToString("N");
        await channel.Submit(new ChannelTaskInfo(taskId, null, null), SchedulingCluster.Request("A. B. C.", session: session));

        Assert.Equal(1, await channel.PushAudio(new AudioBatch(taskId, 0, [1, 2], null, true, false, 0.3)));

        // Sentence 1 never arrived (it died with the channel's old silo): sentence 2 is refused and 1 is asked for.
        Assert.Equal(1, await channel.PushAudio(new AudioBatch(taskId, 2, [5, 6], null, true, false, 1.0)));
        Assert.Equal(2, await channel.PushAudio(new AudioBatch(taskId, 1, [3, 4], null, true, false, 0.6)));
        Assert.Equal(3, await channel.PushAudio(new AudioBatch(taskId, 2, [5, 6], null, true, false, 1.0)));
        await channel.PushAudio(new AudioBatch(taskId, 3, [], null, true, true, 1.0, DurationMs: 10));

        var audio = new List<byte>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var channelEvent in channel.Listen(0, timeout.Token))
        {
            audio.AddRange(channelEvent.Audio ?? []);
            if (channelEvent.Kind == ChannelEventKind.TaskEnded)
            {
                break;
            }
        }

        Assert.Equal([1, 2, 3, 4, 5, 6], audio);
        Assert.True(await cluster.Grains.GetGrain<ITaskGrain>(taskId).Cancel());
    }

    [Fact]
    public async Task Audio_of_an_interrupted_task_is_refused_so_its_synthesizer_stops()
    {
        await HoldDevice("Blocker two.");

        var session = "channel-" + Guid.NewGuid().ToString("N");
        var channel = cluster.Grains.GetGrain<IAudioChannelGrain>(session);
        var taskId = "task_" + Guid.NewGuid().ToString("N");
        await channel.Submit(new ChannelTaskInfo(taskId, null, null), SchedulingCluster.Request("Stop me.", session: session));
        Assert.Equal(0, await channel.PushAudio(new AudioBatch(taskId, 0, [1, 2, 3], null, false, false, 0)));

        Assert.Equal([taskId], await channel.Interrupt(null, null));
        Assert.Equal(-1, await channel.PushAudio(new AudioBatch(taskId, 0, [4, 5, 6], null, false, false, 0, Offset: 3)));
        Assert.Equal(SynthesisStatus.Cancelled, (await cluster.Grains.GetGrain<ITaskGrain>(taskId).GetSnapshot())!.Status);
    }
}
