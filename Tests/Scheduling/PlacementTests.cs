using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;
using MitTts.Tests.Support;
using Xunit.Abstractions;

namespace MitTts.Tests.Scheduling;

[Collection(SchedulingCollection.Name)]
public sealed class PlacementTests(ThreeSiloCluster cluster) : IClassFixture<ThreeSiloCluster>, IDisposable
{
    public void Dispose() => ScriptedEngine.Reset();

    [Fact]
    public async Task Every_declared_device_has_a_synthesizer_on_the_silo_its_key_names()
    {
        var devices = await cluster.Grains.GetGrain<IDeviceDirectoryGrain>(0).GetDevices();
        var silos = cluster.Cluster.GetActiveSilos().Select(s => s.Name).ToHashSet();

        Assert.Equal(silos.Count * 2, devices.Count);
        foreach (var key in devices)
        {
            var status = await cluster.Grains.GetGrain<ISynthesizerGrain>(key).GetStatus();
            Assert.Contains(DeviceKeys.Node(key), silos);
            Assert.Equal(DeviceKeys.Node(key), status.Node);
        }
    }

    [Fact]
    public async Task Work_spreads_over_the_devices_with_least_work_ahead()
    {
        ScriptedEngine.Reset();
        ScriptedEngine.Pause();
        var tasks = Enumerable.Range(0, 6).Select(_ => cluster.NewTask()).ToArray();
        var snapshots = new List<TaskSnapshot>();
        foreach (var (task, i) in tasks.Select((t, i) => (t, i)))
        {
            snapshots.Add((await task.Submit(SchedulingCluster.Request($"Spread {i}."))).Accepted!);
        }

        ScriptedEngine.Resume();
        await Task.WhenAll(tasks.Select(t => t.WaitForCompletion()));

        var devices = await Task.WhenAll(tasks.Select(async t => (await t.GetSnapshot())!.DeviceKey));
        Assert.Equal(6, devices.Distinct().Count());
        Assert.All(snapshots, s => Assert.Equal(0, s.QueuePosition));
    }
}

[Collection(SchedulingCollection.Name)]
public sealed class FailoverTests(FailoverCluster cluster) : IClassFixture<FailoverCluster>, IDisposable
{
    public void Dispose() => ScriptedEngine.Reset();

    [Fact]
    public async Task Killing_a_silo_re_dispatches_its_queued_and_running_jobs_and_they_complete_elsewhere()
    {
        ScriptedEngine.Reset();
        ScriptedEngine.Pause();
        var tasks = Enumerable.Range(0, 12).Select(_ => cluster.NewTask()).ToArray();
        for (var i = 0; i < tasks.Length; i++)
        {
            await tasks[i].Submit(SchedulingCluster.Request($"Survive {i}."));
        }

        var victim = cluster.Cluster.SecondarySilos[^1];
        var placed = await Task.WhenAll(tasks.Select(async t => (await t.GetSnapshot())!.DeviceKey!));
        var orphaned = placed.Count(d => DeviceKeys.Node(d) == victim.Name);
        Assert.True(orphaned >= 2, $"expected work on {victim.Name}, placed on {string.Join(", ", placed)}");

        await cluster.Cluster.KillSiloAsync(victim);
        ScriptedEngine.Resume();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var finished = await Task.WhenAll(tasks.Select(t => t.WaitForCompletion().WaitAsync(timeout.Token)));

        Assert.All(finished, f => Assert.Equal(SynthesisStatus.Completed, f!.Status));
        Assert.All(finished, f => Assert.NotEqual(victim.Name, DeviceKeys.Node(f!.DeviceKey!)));
        Assert.All(await Task.WhenAll(tasks.Select(t => t.GetAudio())), a => Assert.True(a!.DurationSeconds > 0));
    }
}

[Collection(SchedulingCollection.Name)]
public sealed class StreamedFailoverTests(FailoverCluster cluster) : IClassFixture<FailoverCluster>, IDisposable
{
    public void Dispose() => ScriptedEngine.Reset();

    [Fact]
    public async Task Streamed_sessions_get_every_sentence_exactly_once_when_a_silo_dies()
    {
        ScriptedEngine.Reset();
        ScriptedEngine.Pause();
        var sessions = Enumerable.Range(0, 6).Select(i => $"failover-{i}-{Guid.NewGuid():N}").ToArray();
        var taskIds = new string[sessions.Length];
        for (var i = 0; i < sessions.Length; i++)
        {
            taskIds[i] = "task_" + Guid.NewGuid().ToString("N");
            var request = SchedulingCluster.Request($"First {i}. Second {i}. Third {i}.", session: sessions[i]) with { Format = AudioFormat.Pcm };
            var accepted = await cluster.Grains.GetGrain<IAudioChannelGrain>(sessions[i]).Submit(new ChannelTaskInfo(taskIds[i], null, null), request);
            Assert.Equal(SynthesisStatus.Queued, accepted.Status);
        }

        // Synthesizers are spread over the silos (channels stay on the primary, the only client gateway: ChannelRestoreTests kills a
        // channel's silo); one of the other silos dies, most likely with work on it.
        var victim = cluster.Cluster.SecondarySilos[^1];
        await cluster.Cluster.KillSiloAsync(victim);
        ScriptedEngine.Resume();

        for (var i = 0; i < sessions.Length; i++)
        {
            var events = await ListenUntilEnd(sessions[i], taskIds[i]);
            Assert.Equal(SynthesisStatus.Completed, events[^1].Status);
            var streamed = events.Where(e => e.Kind == ChannelEventKind.Audio).SelectMany(e => e.Audio!).ToArray();
            var stored = await cluster.StoredAudio(taskIds[i]);
            Assert.Equal(stored, streamed);
            var sequences = events.Select(e => e.Sequence).ToList();
            Assert.Equal(sequences.Order(), sequences);
            Assert.Equal(sequences.Count, sequences.Distinct().Count());
        }
    }

    /// <summary>Reads a session's channel as a gateway does: when the channel's silo dies, listen again after the last event seen.</summary>
    private async Task<List<ChannelEvent>> ListenUntilEnd(string session, string taskId)
    {
        var events = new List<ChannelEvent>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var timeout = new CancellationTokenSource(deadline - DateTime.UtcNow);
                var after = events.Count > 0 ? events[^1].Sequence : 0;
                await foreach (var channelEvent in cluster.Grains.GetGrain<IAudioChannelGrain>(session).Listen(after, cancellationToken: timeout.Token))
                {
                    events.Add(channelEvent);
                    if (channelEvent.Kind == ChannelEventKind.TaskEnded && channelEvent.TaskId == taskId)
                    {
                        return events;
                    }
                }
            }
            catch (Exception e) when (e is OrleansException or TimeoutException)
            {
                await Task.Delay(200);
            }
        }

        throw new Xunit.Sdk.XunitException($"session {session} did not end its task; got {events.Count} events");
    }
}

/// <summary>A session's channel dies with its silo (SIGKILL-like, no deactivation) and comes back on a survivor from its saved record.</summary>
[Collection(SchedulingCollection.Name)]
public sealed class ChannelRestoreTests(GatewayPerSiloCluster cluster, ITestOutputHelper output) : IClassFixture<GatewayPerSiloCluster>, IDisposable
{
    public void Dispose() => ScriptedEngine.Reset();

    [Fact]
    public async Task A_whole_file_task_whose_channel_dies_before_its_audio_gets_its_whole_file_once()
    {
        ScriptedEngine.Reset();
        ScriptedEngine.Pause();
        var request = SchedulingCluster.Request("First whole. Second whole. Third whole.") with { Format = AudioFormat.Wav };

        // A stream:false task, waiting for the engine, on a channel off the primary silo.
        var (channel, taskId, home) = await OffPrimaryChannels.Submit(cluster, "whole", request, whole: true);
        await cluster.Cluster.KillSiloAsync(cluster.Cluster.GetActiveSilos().Single(s => s.SiloAddress.Equals(home)));
        ScriptedEngine.Resume();

        var events = await OffPrimaryChannels.ReadUntilEnd(channel, taskId);
        Assert.Equal(SynthesisStatus.Completed, Assert.IsType<TaskEndedEvent>(events[^1]).Status);
        var audio = Assert.Single(events.OfType<AudioEvent>()).Audio;

        // The same request on a channel nobody killed: the file the restored channel made must be that one, byte for byte.
        var reference = cluster.Grains.GetGrain<IAudioChannelGrain>("whole-reference-" + Guid.NewGuid().ToString("N"));
        var referenceTask = "task_" + Guid.NewGuid().ToString("N");
        Assert.IsType<TaskAccepted>(await reference.Submit(new ChannelTaskInfo(referenceTask, null, null, Whole: true), request with { SessionId = reference.GetPrimaryKeyString() }));
        var expected = Assert.Single((await OffPrimaryChannels.ReadUntilEnd(reference, referenceTask)).OfType<AudioEvent>()).Audio;
        Assert.Equal(expected.Length, audio.Length);
        Assert.Equal(expected, audio);
    }

    [Fact]
    public async Task A_kept_streamed_task_whose_channel_dies_mid_stream_sends_the_rest_once_and_keeps_its_whole_file()
    {
        ScriptedEngine.Reset();
        const string first = "First kept. ";
        var request = SchedulingCluster.Request($"{first}Second kept. Third kept.") with { Format = AudioFormat.Pcm, Store = true };

        // The same request on a channel nobody kills: the audio it streams, which is also its kept file.
        var reference = cluster.Grains.GetGrain<IAudioChannelGrain>("kept-reference-" + Guid.NewGuid().ToString("N"));
        var referenceTask = "task_" + Guid.NewGuid().ToString("N");
        Assert.IsType<TaskAccepted>(await reference.Submit(new ChannelTaskInfo(referenceTask, null, null), request with { SessionId = reference.GetPrimaryKeyString() }));
        var expected = OffPrimaryChannels.Join(await OffPrimaryChannels.ReadUntilEnd(reference, referenceTask));
        Assert.Equal(expected, await cluster.StoredAudio(referenceTask));

        // The task on a channel off the primary silo, its engine held before each sentence; the first sentence goes through.
        ScriptedEngine.Reset();
        ScriptedEngine.Pause();
        var (channel, taskId, home) = await OffPrimaryChannels.Submit(cluster, "kept", request, whole: false);
        await ScriptedEngine.StepUntilStarted(first);
        ScriptedEngine.Step();

        // The reader has all of the first sentence (the engine's PCM, at its own rate) before the channel's silo dies.
        var firstBytes = ScriptedEngine.Render(first).Length * sizeof(short);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var log = new TestOutputLogger(output, "reader");
        var reader = new MitTts.Gateway.Channels.ResumingChannelReader(channel, 0, "test", log, MitTts.Gateway.Channels.ChannelReaderHome.Client);
        var events = new List<ChannelEvent>();
        while (events.OfType<AudioEvent>().Sum(a => a.Audio.Length) < firstBytes)
        {
            var channelEvent = await reader.Next(timeout.Token);
            if (channelEvent?.TaskId == taskId)
            {
                events.Add(channelEvent);
            }
        }

        Assert.Equal(firstBytes, events.OfType<AudioEvent>().Sum(a => a.Audio.Length));
        await cluster.Cluster.KillSiloAsync(cluster.Cluster.GetActiveSilos().Single(s => s.SiloAddress.Equals(home)));

        // The channel comes back from a save that holds just what the reader read, so its released number alone would match the
        // reader's; it says it waits for its reader, and the reader, whose listening may still be on the dead silo, listens again.
        Assert.Equal(AudioChannelReleases.AwaitingReader, await OffPrimaryChannels.FirstAnswer(channel));
        output.WriteLine($"restored channel answered; engine resumed with the reader after event {reader.LastSequence}");
        ScriptedEngine.Resume();

        // Every byte once, in order (the engine renders alike every time), then the same whole file kept.
        await using (reader)
        {
            while (events[^1] is not TaskEndedEvent)
            {
                var channelEvent = await reader.Next(timeout.Token);
                if (channelEvent?.TaskId == taskId)
                {
                    events.Add(channelEvent);
                }
            }
        }

        Assert.Equal(SynthesisStatus.Completed, Assert.IsType<TaskEndedEvent>(events[^1]).Status);
        var streamed = OffPrimaryChannels.Join(events);
        Assert.Equal(expected.Length, streamed.Length);
        Assert.Equal(expected, streamed);
        Assert.Equal(expected, await cluster.StoredAudio(taskId));
    }
}
