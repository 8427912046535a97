using System.Diagnostics.Metrics;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;
using MitTts.Tests.Support;

namespace MitTts.Tests.Scheduling;

[Collection(SchedulingCollection.Name)]
public sealed class PriorityTests(SingleDeviceCluster cluster) : IDisposable
{
    public void Dispose() => ScriptedEngine.Reset();

    /// <summary>Occupies the device with a one-sentence job that waits for <see cref="ScriptedEngine.Resume"/>.</summary>
    private async Task<ITaskGrain> Block(string text)
    {
        ScriptedEngine.Reset();
        ScriptedEngine.Pause();
        var blocker = cluster.NewTask();
        await blocker.Submit(SchedulingCluster.Request(text));
        await ScriptedEngine.WaitUntilStarted(text);
        return blocker;
    }

    /// <summary>Submits <paramref name="story"/> on the paused engine, then, once it speaks <paramref name="firstSentence"/>, a CRITICAL
    /// <paramref name="critical"/>; resumes the engine and waits for both. Returns the story's task.</summary>
    private async Task<ITaskGrain> PreemptedByCritical(string story, string firstSentence, string critical)
    {
        var storyTask = cluster.NewTask();
        await storyTask.Submit(SchedulingCluster.Request(story));
        await ScriptedEngine.WaitUntilStarted(firstSentence);
        var criticalTask = cluster.NewTask();
        await criticalTask.Submit(SchedulingCluster.Request(critical, Priority.Critical));
        ScriptedEngine.Resume();
        await WaitAll([storyTask, criticalTask]);
        return storyTask;
    }

    private static async Task<IReadOnlyList<TaskSnapshot?>> WaitAll(IEnumerable<ITaskGrain> tasks) =>
        await Task.WhenAll(tasks.Select(t => t.WaitForCompletion()));

    [Fact]
    public async Task With_one_busy_device_critical_then_high_then_normal_and_fifo_within_each()
    {
        var blocker = await Block("Blocker.");
        var submitted = new List<ITaskGrain>();
        foreach (var (text, priority) in new[]
        {
            ("Normal one.", Priority.Normal), ("High one.", Priority.High), ("Critical one.", Priority.Critical),
            ("Normal two.", Priority.Normal), ("High two.", Priority.High), ("Critical two.", Priority.Critical),
        })
        {
            var task = cluster.NewTask();
            await task.Submit(SchedulingCluster.Request(text, priority));
            submitted.Add(task);
        }

        ScriptedEngine.Resume();
        await WaitAll([blocker, .. submitted]);

        Assert.Equal(
            ["Blocker.", "Critical one.", "Critical two.", "High one.", "High two.", "Normal one.", "Normal two."],
            ScriptedEngine.Spoken);
    }

    [Fact]
    public async Task Critical_work_preempts_at_a_sentence_boundary_and_the_preempted_job_resumes_exactly()
    {
        const string story = "First sentence. Second sentence. Third sentence. Fourth sentence.";
        var reference = cluster.NewTask();
        await reference.Submit(SchedulingCluster.Request(story));
        await reference.WaitForCompletion();
        var unpreempted = (await reference.GetAudio())!.Data;

        ScriptedEngine.Reset();
        ScriptedEngine.Pause();
        using var preemptions = new MeasurementCounter(cluster.Meters, SchedulingMetrics.MeterName, "mittts.scheduler.preemptions");
        var story2 = await PreemptedByCritical(story, "First sentence. ", "Stop right now.");

        Assert.Equal(["First sentence. ", "Stop right now.", "Second sentence. ", "Third sentence. ", "Fourth sentence."], ScriptedEngine.Spoken);
        Assert.Equal(unpreempted, (await story2.GetAudio())!.Data);
        Assert.Equal(1, preemptions.Total);
    }

    [Fact]
    public async Task A_job_a_critical_one_preempted_resumes_before_a_later_job_of_its_level()
    {
        ScriptedEngine.Reset();
        ScriptedEngine.Pause();
        var story = cluster.NewTask();
        await story.Submit(SchedulingCluster.Request("First sentence. Second sentence."));
        await ScriptedEngine.WaitUntilStarted("First sentence. ");
        var later = cluster.NewTask();
        await later.Submit(SchedulingCluster.Request("Later one."));
        var critical = cluster.NewTask();
        await critical.Submit(SchedulingCluster.Request("Stop right now.", Priority.Critical));
        ScriptedEngine.Resume();
        await WaitAll([story, later, critical]);

        // FIFO within a level holds across a preemption: the oldest NORMAL request is not sent behind one that came after it.
        Assert.Equal(["First sentence. ", "Stop right now.", "Second sentence.", "Later one."], ScriptedEngine.Spoken);
    }

    [Fact]
    public async Task A_sessions_urgent_task_lifts_the_one_its_socket_hears_instead_of_stalling_it()
    {
        ScriptedEngine.Reset();
        ScriptedEngine.Pause();
        var (channel, playing) = await SubmitToChannel("First sentence. Second sentence. Third sentence.", Priority.Normal);

        // A streamed voice's first job calibrates its gain first (one sentence of its own): let that through.
        await ScriptedEngine.StepUntilStarted("First sentence. ");

        // Its audio must all go before the urgent task's: synthesizing the urgent one first would only stall the one the socket hears.
        var (_, urgent) = await SubmitToChannel("Urgent.", Priority.Critical, channel.GetPrimaryKeyString());
        var other = cluster.NewTask();
        await other.Submit(SchedulingCluster.Request("Other high.", Priority.High));
        ScriptedEngine.Resume();
        await WaitAll([cluster.Grains.GetGrain<ITaskGrain>(playing), cluster.Grains.GetGrain<ITaskGrain>(urgent), other]);

        string[] expected = ["First sentence. ", "Second sentence. ", "Third sentence.", "Urgent.", "Other high."];
        Assert.Equal(expected, ScriptedEngine.Spoken.Where(expected.Contains));
        await channel.Close();
    }

    [Fact]
    public async Task At_critical_too_another_sessions_first_sentence_goes_first_and_its_processing_waits_for_its_synthesis()
    {
        ScriptedEngine.Reset();
        ScriptedEngine.Pause();
        var (story, storyTask) = await SubmitToChannel("First sentence. Second sentence. Third sentence.", Priority.Critical);
        await ScriptedEngine.StepUntilStarted("First sentence. ");

        // Another session's CRITICAL reply takes its socket's turn at once, but its job waits for the engine: no `processing` yet.
        var (reply, replyTask) = await SubmitToChannel("Bravo speaks.", Priority.Critical);
        Assert.Equal(0, (await reply.GetWindow()).Last);
        ScriptedEngine.Resume();
        var replyEvents = await OffPrimaryChannels.ReadUntilEnd(reply, replyTask);
        await OffPrimaryChannels.ReadUntilEnd(story, storyTask);

        // Sessions that all ask at CRITICAL all start soon: the running one yields its next sentence to the other's first.
        string[] expected = ["First sentence. ", "Bravo speaks.", "Second sentence. ", "Third sentence."];
        Assert.Equal(expected, ScriptedEngine.Spoken.Where(expected.Contains));
        Assert.IsType<TaskStartedEvent>(replyEvents[0]);
        Assert.IsType<AudioEvent>(replyEvents[1]);
    }

    /// <summary>A streamed task on a session's channel (a new session's unless <paramref name="session"/> is given).</summary>
    private async Task<(IAudioChannelGrain Channel, string TaskId)> SubmitToChannel(string text, Priority priority, string? session = null)
    {
        session ??= "level-" + Guid.NewGuid().ToString("N");
        var channel = cluster.Grains.GetGrain<IAudioChannelGrain>(session);
        var taskId = "task_" + Guid.NewGuid().ToString("N");
        Assert.IsType<TaskAccepted>(await channel.Submit(new ChannelTaskInfo(taskId, null, null), SchedulingCluster.Request(text, priority, session) with { Format = AudioFormat.Pcm }));
        return (channel, taskId);
    }

    [Fact]
    public async Task With_an_in_order_engine_the_sentence_queued_ahead_of_a_preemption_is_dropped_and_spoken_again_in_its_place()
    {
        const string story = "First sentence. Second sentence. Third sentence. Fourth sentence.";
        ScriptedEngine.InOrder = true;
        var reference = cluster.NewTask();
        await reference.Submit(SchedulingCluster.Request(story));
        await reference.WaitForCompletion();
        var unpreempted = (await reference.GetAudio())!.Data;

        ScriptedEngine.Pause();
        while (ScriptedEngine.Spoken.TryDequeue(out _))
        {
        }

        using var preemptions = new MeasurementCounter(cluster.Meters, SchedulingMetrics.MeterName, "mittts.scheduler.preemptions");
        var story2 = await PreemptedByCritical(story, "First sentence. ", "Stop right now.");

        // The second sentence was queued in the engine behind the first: it may have been spoken (and its audio dropped) before the
        // preemption reached it, but the job's audio has it once, in its place, and the critical job went before it.
        var spoken = ScriptedEngine.Spoken.ToList();
        Assert.Equal("First sentence. ", spoken[0]);
        Assert.True(spoken.IndexOf("Stop right now.") < spoken.LastIndexOf("Second sentence. "), string.Join(" | ", spoken));
        Assert.Equal(["Second sentence. ", "Third sentence. ", "Fourth sentence."], spoken[^3..]);
        Assert.Equal(unpreempted, (await story2.GetAudio())!.Data);
        Assert.Equal(1, preemptions.Total);
    }

    [Fact]
    public async Task With_an_in_order_engine_a_cancelled_job_drops_the_sentence_queued_ahead()
    {
        ScriptedEngine.InOrder = true;
        ScriptedEngine.Pause();
        var story = cluster.NewTask();
        await story.Submit(SchedulingCluster.Request("One sentence here. Another one there. And a third."));
        await ScriptedEngine.WaitUntilStarted("One sentence here. ");
        await story.Cancel();
        ScriptedEngine.Resume();
        var after = cluster.NewTask();
        await after.Submit(SchedulingCluster.Request("After the cancel."));
        await WaitAll([story, after]);

        Assert.Equal(SynthesisStatus.Cancelled, (await story.GetSnapshot())!.Status);
        Assert.DoesNotContain("Another one there. ", ScriptedEngine.Spoken);
        // 10 ms per character: not one sample of the dropped sentence in the next job's audio.
        Assert.Equal("After the cancel.".Length * 0.01, (await after.GetAudio())!.DurationSeconds, precision: 6);
    }

    [Fact]
    public async Task A_flooding_session_does_not_starve_another_sessions_single_request()
    {
        var blocker = await Block("Blocker.");
        var flood = new List<ITaskGrain>();
        for (var i = 0; i < 10; i++)
        {
            var task = cluster.NewTask();
            await task.Submit(SchedulingCluster.Request($"Flood {i}.", session: "flooder"));
            flood.Add(task);
        }

        var single = cluster.NewTask();
        var ticket = await single.Submit(SchedulingCluster.Request("Just me.", session: "polite"));
        ScriptedEngine.Resume();
        await WaitAll([blocker, single, .. flood]);

        var order = ScriptedEngine.Spoken.ToList();
        Assert.InRange(order.IndexOf("Just me."), 1, 2);
        Assert.InRange(ticket.QueuePosition ?? -1, 1, 2);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"Flood {i}."), order.Where(t => t.StartsWith("Flood", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_full_level_refuses_with_busy_and_nothing_accepted_is_lost()
    {
        var blocker = await Block("Blocker.");
        var accepted = new List<ITaskGrain>();
        for (var i = 0; i < SchedulingCluster.MaxQueuePerLevel; i++)
        {
            var task = cluster.NewTask();
            Assert.Equal(SynthesisStatus.Queued, (await task.Submit(SchedulingCluster.Request($"Queued {i}."))).Status);
            accepted.Add(task);
        }

        var refusedTask = cluster.NewTask();
        var refused = await refusedTask.Submit(SchedulingCluster.Request("One too many."));
        var otherLevel = cluster.NewTask();
        var high = await otherLevel.Submit(SchedulingCluster.Request("High still fits.", Priority.High));
        ScriptedEngine.Resume();
        var finished = await WaitAll([blocker, otherLevel, .. accepted]);

        Assert.Equal("busy", refused.Error?.Code);
        Assert.True(refused.Error!.RetryAfterSeconds >= 1);
        Assert.Null(await refusedTask.GetSnapshot());
        Assert.Equal(SynthesisStatus.Queued, high.Status);
        Assert.All(finished, f => Assert.Equal(SynthesisStatus.Completed, f!.Status));
        Assert.DoesNotContain("One too many.", ScriptedEngine.Spoken);
    }

    [Fact]
    public async Task Cancelling_a_running_job_stops_the_engine_and_frees_the_device()
    {
        ScriptedEngine.Reset();
        ScriptedEngine.Pause();
        var running = cluster.NewTask();
        await running.Submit(SchedulingCluster.Request("Never finished. Never reached."));
        await ScriptedEngine.WaitUntilStarted("Never finished. ");
        var next = cluster.NewTask();
        await next.Submit(SchedulingCluster.Request("Next in line."));

        Assert.True(await running.Cancel());
        await ScriptedEngine.WaitUntilStarted("Next in line.");
        ScriptedEngine.Resume();
        await next.WaitForCompletion();

        Assert.Equal(SynthesisStatus.Cancelled, (await running.GetSnapshot())!.Status);
        Assert.Equal(["Next in line."], ScriptedEngine.Spoken);
    }

    [Fact]
    public async Task Queue_position_and_estimate_follow_the_real_queue()
    {
        var blocker = await Block("Blocker.");
        var first = cluster.NewTask();
        var second = cluster.NewTask();
        var a = await first.Submit(SchedulingCluster.Request(new string('a', 200) + "."));
        var b = await second.Submit(SchedulingCluster.Request(new string('b', 200) + "."));
        var device = (await first.GetSnapshot())!.DeviceKey!;
        var status = await cluster.Grains.GetGrain<ISynthesizerGrain>(device).GetStatus();
        ScriptedEngine.Resume();
        await WaitAll([blocker, first, second]);

        Assert.Equal((1, 2), (a.QueuePosition, b.QueuePosition));
        Assert.True(b.EstimatedSeconds > a.EstimatedSeconds);
        Assert.Equal(2, status.QueuedByPriority[Priority.Normal]);
        Assert.True(status.Busy);
    }

    /// <summary>Sums one counter of one silo's meter while alive (other clusters in the process have meters of the same name).</summary>
    private sealed class MeasurementCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _total;

        public MeasurementCounter(IMeterFactory scope, string meter, string instrument)
        {
            _listener.InstrumentPublished = (i, l) =>
            {
                if (ReferenceEquals(i.Meter.Scope, scope) && i.Meter.Name == meter && i.Name == instrument)
                {
                    l.EnableMeasurementEvents(i);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _total, value));
            _listener.Start();
        }

        public long Total => Interlocked.Read(ref _total);

        public void Dispose() => _listener.Dispose();
    }
}
