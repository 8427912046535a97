using MitTts.Grains.Interfaces;
using MitTts.Tests.Support;

namespace MitTts.Tests.Grains;

[Collection(ClusterCollection.Name)]
public sealed class TaskGrainTests(ClusterFixture fixture)
{
    private static SynthesisRequest Request(string text, Priority priority = Priority.Normal, string? session = null, AudioFormat format = AudioFormat.Wav) =>
        new(text, "en-female-1", format, priority, session, 1.0, 1.0);

    private ITaskGrain NewTask() => fixture.Grains.GetGrain<ITaskGrain>("task_" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task A_task_goes_from_queued_to_completed_with_its_audio()
    {
        var task = NewTask();

        var accepted = await task.Submit(Request("The quick brown fox jumps over the lazy dog."));
        var finished = await task.WaitForCompletion();
        var audio = await task.GetAudio();

        Assert.Equal(SynthesisStatus.Queued, accepted.Status);
        Assert.NotNull(finished);
        Assert.Equal(SynthesisStatus.Completed, finished.Status);
        Assert.Equal(1.0, finished.Progress);
        Assert.Null(finished.Error);
        Assert.True(finished.CreatedAt <= finished.StartedAt && finished.StartedAt <= finished.CompletedAt);
        Assert.NotNull(audio);
        var pcm = Pcm.FromWav(audio.Data);
        Assert.Equal(22050, pcm.SampleRate);
        Assert.Equal(audio.DurationSeconds, pcm.DurationSeconds, 0.001);
        Assert.Equal(finished.AudioDurationSeconds, audio.DurationSeconds);
        Assert.True(pcm.Rms > 0.02);
    }

    [Fact]
    public async Task Pcm_format_stores_raw_samples()
    {
        var task = NewTask();
        await task.Submit(Request("Raw samples, please.", format: AudioFormat.Pcm));
        await task.WaitForCompletion();

        var audio = await task.GetAudio();

        Assert.NotNull(audio);
        Assert.Equal("audio/pcm", audio.ContentType);
        Assert.Equal(audio.DurationSeconds * 22050 * 2, audio.Data.Length, 1.0);
    }

    [Fact]
    public async Task Submitting_the_same_task_id_twice_keeps_the_first_request()
    {
        var task = NewTask();
        await task.Submit(Request("First."));

        var second = await task.Submit(Request("Second, different text."));

        Assert.Equal("First.", second.Request.Text);
    }

    [Fact]
    public async Task An_unknown_task_has_no_snapshot_and_no_audio()
    {
        var task = NewTask();

        Assert.Null(await task.GetSnapshot());
        Assert.Null(await task.GetAudio());
        Assert.False(await task.Cancel());
    }

    [Fact]
    public async Task A_cancelled_task_never_produces_audio()
    {
        var blocker = NewTask();
        var victim = NewTask();
        await blocker.Submit(Request(string.Join(' ', Enumerable.Repeat("A long text keeps the synthesizer busy for a while.", 80))));
        await victim.Submit(Request("This should never be spoken."));

        Assert.True(await victim.Cancel());
        var cancelled = await victim.WaitForCompletion();
        Assert.Equal(SynthesisStatus.Cancelled, cancelled!.Status);
        Assert.False(await victim.Cancel());
        await blocker.WaitForCompletion();

        Assert.Null(await victim.GetAudio());
    }

    [Fact]
    public async Task Queue_position_and_estimate_come_from_the_real_queue()
    {
        var first = NewTask();
        var second = NewTask();
        var longText = string.Join(' ', Enumerable.Repeat("Queue estimates come from the work ahead.", 60));

        var a = await first.Submit(Request(longText));
        var b = await second.Submit(Request("Short."));

        Assert.Equal(0, a.QueuePosition);
        Assert.True(b.QueuePosition >= 1);
        // The short task's estimate counts the long one ahead of it: alone it would be ~400 times smaller than the long
        // one's. The device re-measures its speed after every sentence the long task finishes between the two submits,
        // so the two estimates use rates that may differ; a quarter leaves room for that, not for a missing queue.
        Assert.True(b.EstimatedSeconds > a.EstimatedSeconds / 4, $"{b.EstimatedSeconds} s behind {a.EstimatedSeconds} s");
        await second.WaitForCompletion();
    }

    [Fact]
    public async Task A_finished_tasks_audio_expires_after_its_ttl_and_its_record_says_so()
    {
        var task = NewTask();
        await task.Submit(Request("Short lived."));
        var finished = await task.WaitForCompletion();

        Assert.NotNull(finished!.ExpiresAt);
        Assert.Equal(ClusterFixture.ResultTtlSeconds, (finished.ExpiresAt.Value - finished.CompletedAt!.Value).TotalSeconds, 0.01);
        await Task.Delay(finished.ExpiresAt.Value - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(100));

        Assert.Equal(ResultAudio.Expired, (await task.GetSnapshot())!.Audio);
        Assert.Null(await task.GetAudio());

        // The record says "expired" for as long again, then the task is unknown.
        await Task.Delay(finished.ExpiresAt.Value.AddSeconds(ClusterFixture.ResultTtlSeconds) - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(100));
        Assert.Null(await task.GetSnapshot());
    }

    [Fact]
    public async Task The_synthesizer_reports_its_work()
    {
        var task = NewTask();
        await task.Submit(Request("Counted."));
        await task.WaitForCompletion();

        var devices = await fixture.Grains.GetGrain<IDeviceDirectoryGrain>(0).GetDevices();
        var device = Assert.Single(devices);
        var status = await fixture.Grains.GetGrain<ISynthesizerGrain>(device).GetStatus();

        Assert.EndsWith("/cpu:0", device, StringComparison.Ordinal);
        Assert.True(status.Completed >= 1);
        Assert.True(status.SecondsPerCharacter > 0);
    }
}
