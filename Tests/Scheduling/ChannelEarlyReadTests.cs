using Microsoft.Extensions.Logging.Abstractions;
using MitTts.Gateway.Channels;
using MitTts.Grains.Interfaces;
using MitTts.Tests.Support;

namespace MitTts.Tests.Scheduling;

/// <summary>A durable channel lets a reader that outlives its silo (a client gateway's) have a task's audio before the channel has saved
/// it (or the task), and the notes that reader keeps put a channel restored from an older save where the reader stands; a reader on the
/// channel's own silo, which would die with it, still waits for each save.</summary>
[Collection(SchedulingCollection.Name)]
public sealed class ChannelEarlyReadTests(GatewayPerSiloCluster cluster) : IClassFixture<GatewayPerSiloCluster>, IDisposable
{
    public void Dispose() => ScriptedEngine.Reset();

    [Fact]
    public async Task A_client_reader_gets_audio_its_channel_has_not_saved_and_after_the_silo_dies_hears_the_rest_once()
    {
        var expected = await EarlyReading.Reference(cluster);

        ScriptedEngine.Reset();
        ScriptedEngine.Pause();
        var (channel, taskId, home) = await OffPrimaryChannels.Submit(cluster, "early", EarlyReading.Request, whole: false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var reader = new ResumingChannelReader(channel, 0, "test", NullLogger.Instance, ChannelReaderHome.Client);

        // The task's start comes once a save knows the task; from then on the channel's silo writes nothing.
        var events = new List<ChannelEvent> { await EarlyReading.NextOf(reader, taskId, timeout.Token) };
        Assert.IsType<TaskStartedEvent>(events[0]);
        var hold = SharedGrainStorage.Hold(home, channel.GetPrimaryKeyString());
        long heldAtKill;
        try
        {
            await EarlyReading.ReadPastFirstSentence(reader, taskId, events, timeout.Token);

            // They arrived although every save since the start is held: they came before the channel saved them.
            Assert.All(events.OfType<AudioEvent>(), a => Assert.NotNull(a.Unsaved));
            Assert.True(hold.Writes > 0);

            heldAtKill = events[^1].Sequence;
            await cluster.Cluster.KillSiloAsync(cluster.Cluster.GetActiveSilos().Single(s => s.SiloAddress.Equals(home)));
        }
        finally
        {
            // The dead silo's writes never land: the channel comes back from the save that knew only the task.
            hold.Abandon();
        }

        ScriptedEngine.Resume();
        await EarlyReading.ReadToEnd(reader, channel, taskId, events, timeout);

        // The restored channel went on from where the reader's marks put it: it made no event the reader had (its save knew of no audio
        // read: from that alone it would have made the task's audio again, numbered from the save on, for the reader to skip).
        Assert.True((await channel.GetWindow()).FirstKept > heldAtKill);

        // Every byte once, in order, and the numbering goes on with no gap and no repeat.
        Assert.Equal(SynthesisStatus.Completed, Assert.IsType<TaskEndedEvent>(events[^1]).Status);
        var streamed = OffPrimaryChannels.Join(events);
        Assert.Equal(expected.Length, streamed.Length);
        Assert.Equal(expected, streamed);
        Assert.Equal(Enumerable.Range((int)events[0].Sequence, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
    }

    [Fact]
    public async Task A_reader_on_the_channels_own_silo_gets_audio_only_once_the_channel_has_saved_it()
    {
        ScriptedEngine.Reset();
        ScriptedEngine.Pause();
        var (channel, taskId, home) = await OffPrimaryChannels.Submit(cluster, "same-silo", EarlyReading.Request, whole: false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var reader = new ResumingChannelReader(channel, 0, "test", NullLogger.Instance, new ChannelReaderHome(home.ToParsableString()));
        Assert.IsType<TaskStartedEvent>(await EarlyReading.NextOf(reader, taskId, timeout.Token));

        var hold = SharedGrainStorage.Hold(home, channel.GetPrimaryKeyString());
        try
        {
            await ScriptedEngine.StepUntilStarted(EarlyReading.First);
            var next = EarlyReading.NextOf(reader, taskId, timeout.Token);
            ScriptedEngine.Step();

            // The audio is in the channel (it tried to save it), yet the reader has none of it while the save is held.
            while (hold.Writes == 0)
            {
                await Task.Delay(10, timeout.Token);
            }

            Assert.NotSame(next, await Task.WhenAny(next, Task.Delay(TimeSpan.FromMilliseconds(500), timeout.Token)));
            hold.Release();
            var audio = Assert.IsType<AudioEvent>(await next);
            Assert.Null(audio.Unsaved);
        }
        finally
        {
            hold.Release();
            ScriptedEngine.Resume();
        }
    }
}

/// <summary>A channel whose record another activation wrote after this one read it (a silo shutting down saved its last state while the
/// channel came up elsewhere) takes the record's version and saves over it: its readers, which wait for saves, go on.</summary>
[Collection(SchedulingCollection.Name)]
public sealed class ChannelSaveConflictTests(GatewayPerSiloCluster cluster) : IClassFixture<GatewayPerSiloCluster>, IDisposable
{
    public void Dispose() => ScriptedEngine.Reset();

    [Fact]
    public async Task A_channel_whose_record_another_activation_wrote_saves_over_it_and_its_reader_hears_the_task_to_its_end()
    {
        var expected = await EarlyReading.Reference(cluster);
        ScriptedEngine.Reset();
        ScriptedEngine.Pause();
        var (channel, taskId, home) = await OffPrimaryChannels.Submit(cluster, "conflict", EarlyReading.Request, whole: false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var reader = new ResumingChannelReader(channel, 0, "test", NullLogger.Instance, new ChannelReaderHome(home.ToParsableString()));
        var events = new List<ChannelEvent> { await EarlyReading.NextOf(reader, taskId, timeout.Token) };
        Assert.IsType<TaskStartedEvent>(events[0]);

        // Another activation's write: every save this channel makes from now on meets a newer version than the one it read.
        Assert.Equal(1, SharedGrainStorage.WriteElsewhere("audiochannel/" + channel.GetPrimaryKeyString()));
        ScriptedEngine.Resume();

        // This reader, on the channel's own silo, gets only what is saved: it hears the rest only if the saves land again.
        await EarlyReading.ReadToEnd(reader, channel, taskId, events, timeout);
        Assert.Equal(SynthesisStatus.Completed, Assert.IsType<TaskEndedEvent>(events[^1]).Status);
        Assert.Equal(expected, OffPrimaryChannels.Join(events));
    }
}

/// <summary>What a channel restored from an older save does with a reader's notes, and without them (each test kills a silo, so these
/// have a cluster of their own).</summary>
[Collection(SchedulingCollection.Name)]
public sealed class ChannelEarlyRestoreTests(GatewayPerSiloCluster cluster) : IClassFixture<GatewayPerSiloCluster>, IDisposable
{
    public void Dispose() => ScriptedEngine.Reset();

    [Fact]
    public async Task A_task_no_save_knew_is_taken_up_from_the_readers_notes_after_the_silo_dies()
    {
        var expected = await EarlyReading.Reference(cluster);

        // A channel off the primary that has saved: a first task, read to its end.
        ScriptedEngine.Reset();
        var warmUp = SchedulingCluster.Request("Warm up.") with { Format = AudioFormat.Pcm };
        var (channel, warmTask, home) = await OffPrimaryChannels.Submit(cluster, "untold", warmUp, whole: false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var reader = new ResumingChannelReader(channel, 0, "test", NullLogger.Instance, ChannelReaderHome.Client);
        while (await EarlyReading.NextOf(reader, warmTask, timeout.Token) is not TaskEndedEvent)
        {
        }

        // From here the channel's silo writes nothing: no save will know the next task.
        ScriptedEngine.Pause();
        var hold = SharedGrainStorage.Hold(home, channel.GetPrimaryKeyString());
        var taskId = "task_" + Guid.NewGuid().ToString("N");
        var events = new List<ChannelEvent>();
        long heldAtKill;
        try
        {
            Assert.IsType<TaskAccepted>(await channel.Submit(new ChannelTaskInfo(taskId, null, null), EarlyReading.Request with { SessionId = channel.GetPrimaryKeyString() }));
            await EarlyReading.ReadPastFirstSentence(reader, taskId, events, timeout.Token);

            // Its events came with the task itself, as no save knew it.
            Assert.All(events, e => Assert.Equal(taskId, e.Unsaved?.Task?.Info.TaskId));
            heldAtKill = events[^1].Sequence;
            await cluster.Cluster.KillSiloAsync(cluster.Cluster.GetActiveSilos().Single(s => s.SiloAddress.Equals(home)));
        }
        finally
        {
            hold.Abandon();
        }

        ScriptedEngine.Resume();
        await EarlyReading.ReadToEnd(reader, channel, taskId, events, timeout);

        // The restored channel took the task up from the reader's notes and went on from where they put it: every byte once.
        Assert.Equal(SynthesisStatus.Completed, Assert.IsType<TaskEndedEvent>(events[^1]).Status);
        Assert.True((await channel.GetWindow()).FirstKept > heldAtKill);
        Assert.Equal(expected, OffPrimaryChannels.Join(events));
        Assert.Equal(Enumerable.Range((int)events[0].Sequence, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
    }

    [Fact]
    public async Task A_resume_past_the_save_without_the_readers_marks_numbers_on_after_it_and_sends_the_unsaved_audio_again()
    {
        var expected = await EarlyReading.Reference(cluster);

        ScriptedEngine.Reset();
        ScriptedEngine.Pause();
        var (channel, taskId, home) = await OffPrimaryChannels.Submit(cluster, "again", EarlyReading.Request, whole: false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var hold = SharedGrainStorage.Hold(home, channel.GetPrimaryKeyString());
        long after;
        await using (var early = new ResumingChannelReader(channel, 0, "test", NullLogger.Instance, ChannelReaderHome.Client))
        {
            Assert.IsType<TaskStartedEvent>(await EarlyReading.NextOf(early, taskId, timeout.Token));
            await ScriptedEngine.StepUntilStarted(EarlyReading.First);
            ScriptedEngine.Step();
            var audio = Assert.IsType<AudioEvent>(await EarlyReading.NextOf(early, taskId, timeout.Token));
            Assert.NotNull(audio.Unsaved);
            after = audio.Sequence;

            // The reader dies with the channel's silo: its marks are lost, and its client resumes elsewhere from its last number.
            await cluster.Cluster.KillSiloAsync(cluster.Cluster.GetActiveSilos().Single(s => s.SiloAddress.Equals(home)));
            hold.Abandon();
        }

        ScriptedEngine.Resume();
        var events = new List<ChannelEvent>();
        await using (var resumed = new ResumingChannelReader(channel, after, "test", NullLogger.Instance, ChannelReaderHome.Client))
        {
            while (events.Count == 0 || events[^1] is not TaskEndedEvent)
            {
                events.Add(await EarlyReading.NextOf(resumed, taskId, timeout.Token));
            }
        }

        // Numbered on after the client's last event, and the audio from the saved position (the task's start) whole again.
        Assert.Equal(Enumerable.Range((int)after + 1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        Assert.Equal(expected, OffPrimaryChannels.Join(events));
    }
}

/// <summary>The task the early-read tests stream, and reading it.</summary>
internal static class EarlyReading
{
    public const string First = "First early. ";
    public const string Second = "Second early. ";
    public static readonly SynthesisRequest Request = SchedulingCluster.Request($"{First}{Second}Third early.") with { Format = AudioFormat.Pcm };

    /// <summary>What the task streams on a channel nobody disturbs.</summary>
    public static async Task<byte[]> Reference(SchedulingCluster cluster)
    {
        ScriptedEngine.Reset();
        var reference = cluster.Grains.GetGrain<IAudioChannelGrain>("early-reference-" + Guid.NewGuid().ToString("N"));
        var referenceTask = "task_" + Guid.NewGuid().ToString("N");
        Assert.IsType<TaskAccepted>(await reference.Submit(new ChannelTaskInfo(referenceTask, null, null), Request with { SessionId = reference.GetPrimaryKeyString() }));
        return OffPrimaryChannels.Join(await OffPrimaryChannels.ReadUntilEnd(reference, referenceTask));
    }

    /// <summary>Lets the paused engine speak the first sentence and start the second, and reads the task's events until the reader has
    /// audio of the second (whose first event says the first is whole).</summary>
    public static async Task ReadPastFirstSentence(ResumingChannelReader reader, string taskId, List<ChannelEvent> events, CancellationToken cancellationToken)
    {
        await ScriptedEngine.StepUntilStarted(First);
        ScriptedEngine.Step();
        await ScriptedEngine.StepUntilStarted(Second);
        ScriptedEngine.Step();
        var firstBytes = ScriptedEngine.Render(First).Length * sizeof(short);
        while (events.OfType<AudioEvent>().Sum(a => a.Audio.Length) <= firstBytes)
        {
            events.Add(await NextOf(reader, taskId, cancellationToken));
        }
    }

    /// <summary>Reads the task's events to its end, then lets the reader go; when they stop coming, fails saying where it stood.</summary>
    public static async Task ReadToEnd(ResumingChannelReader reader, IAudioChannelGrain channel, string taskId, List<ChannelEvent> events, CancellationTokenSource timeout)
    {
        await using (reader)
        {
            while (events[^1] is not TaskEndedEvent)
            {
                try
                {
                    events.Add(await NextOf(reader, taskId, timeout.Token));
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested)
                {
                    // Say where it stood (seen once in about twenty runs before the silence check listened again on a channel behind
                    // its reader, not since).
                    Assert.Fail($"no end after the restore; events {string.Join(", ", events.Select(e => $"{e.Sequence}:{e.GetType().Name}:{(e as AudioEvent)?.Audio.Length}"))}; "
                        + $"spoken {string.Join(" | ", ScriptedEngine.Spoken)}; window {await channel.GetWindow()}");
                }
            }
        }
    }

    public static async Task<ChannelEvent> NextOf(ResumingChannelReader reader, string taskId, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (await reader.Next(cancellationToken) is { } channelEvent && channelEvent.TaskId == taskId)
            {
                return channelEvent;
            }
        }
    }
}
