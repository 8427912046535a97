using MitTts.Grains.Interfaces;
using MitTts.Tests.Support;

namespace MitTts.Tests.Scheduling;

/// <summary>With an in-order engine, the next streamed job's first sentence goes into the engine's queue as soon as the running job's
/// last sentence is there, so the engine does not wait for the synthesizer's turn between jobs.</summary>
[Collection(SchedulingCollection.Name)]
public sealed class PrestartTests(SingleDeviceCluster cluster) : IDisposable
{
    public void Dispose() => ScriptedEngine.Reset();

    [Fact]
    public async Task The_next_streamed_jobs_first_sentence_is_queued_behind_the_running_jobs_last_and_both_come_out_whole()
    {
        var (synthesizer, alone) = await PausedInOrderDevice("Only sentence here.", "The next job. Its second sentence.");
        var first = Pull(synthesizer, "Only sentence here.", "session-a");
        await ScriptedEngine.WaitUntilStarted("Only sentence here.");
        var second = Pull(synthesizer, "The next job. Its second sentence.", "session-b");

        // The engine is still paused on the first job, so only the head start can have asked for this.
        Assert.True(await ScriptedEngine.WaitUntilRequested("The next job. ", TimeSpan.FromSeconds(10)), "the next job's first sentence was not queued");
        Assert.False(await ScriptedEngine.WaitUntilRequested("Its second sentence.", TimeSpan.FromMilliseconds(200)), "only the first sentence goes ahead");
        ScriptedEngine.Resume();

        // Byte for byte what each job gives when it runs alone.
        Assert.Equal(alone[0], await first);
        Assert.Equal(alone[1], await second);
        Assert.Equal(["Only sentence here.", "The next job. ", "Its second sentence."], ScriptedEngine.Spoken);
    }

    [Fact]
    public async Task A_job_whose_first_sentence_went_ahead_can_be_cancelled_while_it_waits_and_is_never_spoken()
    {
        var (synthesizer, alone) = await PausedInOrderDevice("Keep going.", "Said after.");
        var first = Pull(synthesizer, "Keep going.", "session-a");
        await ScriptedEngine.WaitUntilStarted("Keep going.");
        using var cancel = new CancellationTokenSource();
        var second = Pull(synthesizer, "Never said.", "session-b", cancel.Token);
        Assert.True(await ScriptedEngine.WaitUntilRequested("Never said.", TimeSpan.FromSeconds(10)));

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        ScriptedEngine.Resume();
        Assert.Equal(alone[0], await first);
        var third = await Pull(synthesizer, "Said after.", "session-c");

        Assert.Equal(alone[1], third);
        Assert.Equal(["Keep going.", "Said after."], ScriptedEngine.Spoken);
    }

    /// <summary>The device's synthesizer (learnt from a job run first) and the audio of each text pulled alone; then the scripted engine
    /// is made in order and paused, with its logs emptied.</summary>
    private async Task<(ISynthesizerGrain Synthesizer, byte[][] Alone)> PausedInOrderDevice(params string[] texts)
    {
        ScriptedEngine.Reset();
        ScriptedEngine.InOrder = true;
        var probe = cluster.NewTask();
        await probe.Submit(SchedulingCluster.Request("Probe."));
        var synthesizer = cluster.Grains.GetGrain<ISynthesizerGrain>((await probe.WaitForCompletion())!.DeviceKey!);
        var alone = new byte[texts.Length][];
        for (var i = 0; i < texts.Length; i++)
        {
            // One at a time: nothing waits behind it, so nothing goes ahead.
            alone[i] = await Pull(synthesizer, texts[i], "alone");
        }

        ScriptedEngine.Reset();
        ScriptedEngine.InOrder = true;
        ScriptedEngine.Pause();
        return (synthesizer, alone);
    }

    /// <summary>Pulls a streamed PCM job to its end and returns its audio.</summary>
    private static async Task<byte[]> Pull(ISynthesizerGrain synthesizer, string text, string session, CancellationToken cancellationToken = default)
    {
        var request = SchedulingCluster.Request(text, session: session) with { Format = AudioFormat.Pcm, Streamed = true };
        var job = new SynthesisJob("prestart_" + Guid.NewGuid().ToString("N"), request, DateTimeOffset.UtcNow);
        var audio = new List<byte>();
        await foreach (var synthesisEvent in synthesizer.Synthesize(job, cancellationToken))
        {
            switch (synthesisEvent)
            {
                case SentenceAudio piece:
                    audio.AddRange(piece.Audio);
                    break;
                case JobCompleted:
                    return [.. audio];
                case JobFailed failed:
                    throw new InvalidOperationException(failed.Error.Message);
            }
        }

        throw new InvalidOperationException("the job ended without completing");
    }
}
