using MitTts.Grains.Interfaces;
using MitTts.Tests.Support;

namespace MitTts.Tests.Scheduling;

/// <summary>An in-order engine (espeak-ng's one thread) has the sentence the rules give it next waiting in its queue while it speaks:
/// the next job's first sentence, or the running job's next one. The order of speech, the audio of every job and the rules are those of
/// a synthesizer that hands sentences over one at a time.</summary>
[Collection(SchedulingCollection.Name)]
public sealed class EngineAheadTests(SingleDeviceCluster cluster) : IDisposable
{
    public void Dispose() => ScriptedEngine.Reset();

    [Fact]
    public async Task The_next_jobs_first_sentence_is_handed_to_the_engine_while_the_running_one_speaks()
    {
        var reference = await Alone("Bravo speaks next.");
        var running = await SpeakingInOrder("Alpha speaks first.", "alpha");
        var next = cluster.NewTask();
        await next.Submit(SchedulingCluster.Request("Bravo speaks next.", session: "bravo"));

        // Asked for while the engine is still inside the running sentence (paused there): it will go on without waiting for the grain.
        await ScriptedEngine.WaitUntilRequested("Bravo speaks next.");
        Assert.Empty(ScriptedEngine.Spoken);
        ScriptedEngine.Resume();
        await Task.WhenAll(running.WaitForCompletion(), next.WaitForCompletion());

        Assert.Equal(["Alpha speaks first.", "Bravo speaks next."], ScriptedEngine.Spoken);
        Assert.Equal(reference, (await next.GetAudio())!.Data);
    }

    [Fact]
    public async Task A_critical_job_that_comes_takes_the_place_of_the_sentence_handed_ahead()
    {
        const string story = "First sentence. Second sentence. Third sentence.";
        var unpreempted = await Alone(story);
        StartInOrder();
        var storyTask = cluster.NewTask();
        await storyTask.Submit(SchedulingCluster.Request(story));
        await ScriptedEngine.WaitUntilStarted("First sentence. ");
        await ScriptedEngine.WaitUntilRequested("Second sentence. ");
        var critical = cluster.NewTask();
        await critical.Submit(SchedulingCluster.Request("Stop right now.", Priority.Critical));
        await ScriptedEngine.WaitUntilRequested("Stop right now.");
        ScriptedEngine.Resume();
        await Task.WhenAll(storyTask.WaitForCompletion(), critical.WaitForCompletion());

        // The second sentence was dropped before the engine reached it: the critical job went right after the first sentence, and the
        // story went on where it stopped, each sentence spoken once.
        Assert.Equal(["First sentence. ", "Stop right now.", "Second sentence. ", "Third sentence."], ScriptedEngine.Spoken);
        Assert.Equal(unpreempted, (await storyTask.GetAudio())!.Data);
        Assert.Equal(await Alone("Stop right now.", Priority.Critical), (await critical.GetAudio())!.Data);
    }

    [Fact]
    public async Task A_queued_job_cancelled_after_its_sentence_was_handed_ahead_is_never_spoken()
    {
        var running = await SpeakingInOrder("Still speaking.", "one");
        var cancelled = cluster.NewTask();
        await cancelled.Submit(SchedulingCluster.Request("Never heard.", session: "two"));
        await ScriptedEngine.WaitUntilRequested("Never heard.");
        var last = cluster.NewTask();
        await last.Submit(SchedulingCluster.Request("Heard instead.", session: "three"));

        Assert.True(await cancelled.Cancel());
        await ScriptedEngine.WaitUntilRequested("Heard instead.");
        ScriptedEngine.Resume();
        await Task.WhenAll(running.WaitForCompletion(), last.WaitForCompletion());

        Assert.Equal(SynthesisStatus.Cancelled, (await cancelled.GetSnapshot())!.Status);
        Assert.Equal(["Still speaking.", "Heard instead."], ScriptedEngine.Spoken);
        Assert.Equal("Heard instead.".Length * 0.01, (await last.GetAudio())!.DurationSeconds, precision: 6);
    }

    [Fact]
    public async Task Streamed_tasks_whose_audio_the_engine_made_ahead_get_exactly_their_own_audio_and_the_first_piece_rule_holds()
    {
        const string story = "Alpha streams first. Then a second sentence.";
        const string reply = "Bravo streams next.";
        var storyReference = await StreamedAlone(story);
        var replyReference = await StreamedAlone(reply);
        StartInOrder();
        var (storyChannel, storyTask) = await SubmitStreamed(story);
        await ScriptedEngine.WaitUntilStarted("Alpha streams first. ");
        await ScriptedEngine.WaitUntilRequested("Then a second sentence.");

        // A fresh streamed job of another session goes before the story's next sentence, so it takes that sentence's place ahead.
        var (replyChannel, replyTask) = await SubmitStreamed(reply);
        await ScriptedEngine.WaitUntilRequested(reply);
        ScriptedEngine.Resume();
        var storyEvents = await OffPrimaryChannels.ReadUntilEnd(storyChannel, storyTask);
        var replyEvents = await OffPrimaryChannels.ReadUntilEnd(replyChannel, replyTask);

        Assert.Equal(["Alpha streams first. ", reply, "Then a second sentence."], ScriptedEngine.Spoken);
        Assert.Equal(storyReference, OffPrimaryChannels.Join(storyEvents));
        Assert.Equal(replyReference, OffPrimaryChannels.Join(replyEvents));
    }

    [Fact]
    public async Task A_streamed_job_in_a_costly_format_is_not_handed_ahead_and_its_sentence_goes_to_the_engine_after_the_running_one()
    {
        await SpeakingInOrder("Speaking now.", "first");
        var (channel, taskId) = await SubmitStreamed("Encoded on the engine.", AudioFormat.Mp3);
        ScriptedEngine.Resume();

        // Held as PCM it would be encoded off the engine's thread when taken (MP3 capacity fell by half): it is asked for only once the
        // running sentence is done, as without a hand-off.
        Assert.IsType<TaskEndedEvent>((await OffPrimaryChannels.ReadUntilEnd(channel, taskId))[^1]);
        var events = ScriptedEngine.Events.ToList();
        Assert.True(events.IndexOf("spoke: Speaking now.") < events.IndexOf("asked: Encoded on the engine."), string.Join(" | ", events));
    }

    /// <summary>A one-sentence job of <paramref name="session"/> on the paused in-order engine, once the engine is inside it.</summary>
    private async Task<ITaskGrain> SpeakingInOrder(string text, string session)
    {
        StartInOrder();
        var running = cluster.NewTask();
        await running.Submit(SchedulingCluster.Request(text, session: session));
        await ScriptedEngine.WaitUntilStarted(text);
        return running;
    }

    private static void StartInOrder()
    {
        ScriptedEngine.Reset();
        ScriptedEngine.InOrder = true;
        ScriptedEngine.Pause();
    }

    /// <summary>The audio of <paramref name="text"/> spoken alone, one sentence at a time.</summary>
    private async Task<byte[]> Alone(string text, Priority priority = Priority.Normal)
    {
        ScriptedEngine.Reset();
        var task = cluster.NewTask();
        await task.Submit(SchedulingCluster.Request(text, priority));
        await task.WaitForCompletion();
        return (await task.GetAudio())!.Data;
    }

    private async Task<byte[]> StreamedAlone(string text)
    {
        ScriptedEngine.Reset();
        var (channel, taskId) = await SubmitStreamed(text);
        return OffPrimaryChannels.Join(await OffPrimaryChannels.ReadUntilEnd(channel, taskId));
    }

    /// <summary>A streamed task of <paramref name="text"/> (PCM unless told) on a new session's channel.</summary>
    private async Task<(IAudioChannelGrain Channel, string TaskId)> SubmitStreamed(string text, AudioFormat format = AudioFormat.Pcm)
    {
        var channel = cluster.Grains.GetGrain<IAudioChannelGrain>("ahead-" + Guid.NewGuid().ToString("N"));
        var taskId = "task_" + Guid.NewGuid().ToString("N");
        var request = SchedulingCluster.Request(text) with { Format = format, SessionId = channel.GetPrimaryKeyString() };
        Assert.IsType<TaskAccepted>(await channel.Submit(new ChannelTaskInfo(taskId, null, null), request));
        return (channel, taskId);
    }
}
