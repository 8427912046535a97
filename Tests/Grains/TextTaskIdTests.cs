using MitTts.Grains.Interfaces;

namespace MitTts.Tests.Grains;

/// <summary>A socket hands the channel the task id it announced ahead with its session's first text message: the first sentence is named
/// with it (its task grain has heard of it, so the task starts without waiting for its Track), and an id the channel does not take is
/// withdrawn, so a read of it answers at once instead of waiting for a task that never comes.</summary>
[Collection(ClusterCollection.Name)]
public sealed class TextTaskIdTests(ClusterFixture cluster)
{
    private static readonly TextContextOptions s_options = new(
        new SynthesisRequest("-", "en-female-1", AudioFormat.Pcm, Priority.Normal, null, 1.0, 1.0, Streamed: true, Store: false), null);

    // Far under the task grain's wait for an announced task (10 s): a withdrawn id answers in milliseconds.
    private static readonly TimeSpan s_prompt = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task The_first_sentence_of_a_session_is_named_with_the_id_its_socket_announced()
    {
        var announced = await Announce();
        var channel = NewChannel();

        var appended = await channel.AppendText("turn-1", "Hello there.", s_options, new AnnouncedTaskId(announced, TimeSpan.FromSeconds(3)));
        var flushed = await channel.FlushText("turn-1", close: true);

        var task = Assert.IsType<TaskAccepted>(Assert.Single(appended.Tasks.Concat(flushed.Tasks)));
        Assert.Equal(announced, task.TaskId);
        Assert.NotNull(await cluster.Grains.GetGrain<ITaskGrain>(announced).GetSnapshot());
    }

    [Fact]
    public async Task An_id_handed_to_a_channel_that_has_its_own_is_withdrawn_and_reads_of_it_answer_at_once()
    {
        var channel = NewChannel();
        await channel.AppendText("turn-1", "Hello", s_options);
        var spare = await Announce();

        await channel.AppendText("turn-2", "Good", s_options, new AnnouncedTaskId(spare, TimeSpan.Zero));
        var tasks = (await channel.FlushText("turn-1", close: true)).Tasks.Concat((await channel.FlushText("turn-2", close: true)).Tasks).ToList();

        Assert.Equal(2, tasks.Count);
        Assert.DoesNotContain(tasks, task => task.TaskId == spare);
        await AssertNotFoundAtOnce(spare);
    }

    [Fact]
    public async Task An_id_announced_too_long_ago_is_not_used_but_withdrawn()
    {
        var stale = await Announce();
        var channel = NewChannel();

        var appended = await channel.AppendText("turn-1", "Hello there.", s_options, new AnnouncedTaskId(stale, TaskAnnouncements.Fresh + TimeSpan.FromMinutes(1)));
        var task = Assert.Single(appended.Tasks.Concat((await channel.FlushText("turn-1", close: true)).Tasks));

        Assert.NotEqual(stale, task.TaskId);
        await AssertNotFoundAtOnce(stale);
    }

    private IAudioChannelGrain NewChannel() => cluster.Grains.GetGrain<IAudioChannelGrain>("text-ids-" + Guid.NewGuid().ToString("N"));

    private async Task<string> Announce()
    {
        var taskId = "task_" + Guid.NewGuid().ToString("N");
        await cluster.Grains.GetGrain<ITaskGrain>(taskId).Announce();
        return taskId;
    }

    private async Task AssertNotFoundAtOnce(string taskId)
    {
        var read = cluster.Grains.GetGrain<ITaskGrain>(taskId).GetSnapshot();
        Assert.Same(read, await Task.WhenAny(read, Task.Delay(s_prompt)));
        Assert.Null(await read);
    }
}
