using MitTts.Grains.Interfaces;
using MitTts.Tests.Support;

namespace MitTts.Tests.Scheduling;

/// <summary>A reader that goes away leaves the channel, wherever its listening stood: the channel then gives it a resume window and
/// cancels what is unfinished. The channels here have a one-second window.</summary>
[Collection(SchedulingCollection.Name)]
public sealed class ChannelReaderGoneTests(ShortResumeCluster cluster) : IClassFixture<ShortResumeCluster>, IDisposable
{
    private const string Text = "A reader that goes.";

    public void Dispose() => ScriptedEngine.Reset();

    [Fact]
    public async Task A_reader_that_goes_between_two_answers_leaves_the_channel_and_its_work_is_cancelled_after_the_window()
    {
        ScriptedEngine.Reset();
        ScriptedEngine.Pause();
        var channel = cluster.Grains.GetGrain<IAudioChannelGrain>("gone-" + Guid.NewGuid().ToString("N"));
        var taskId = await SchedulingCluster.SubmitPcm(channel, Text);
        await ScriptedEngine.StepUntilStarted(Text);

        // One answer, as the gateway's reader asks: the channel's listening then waits at that answer for the next ask, which never comes.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var answers = channel.Listen(0, null, timeout.Token).WithBatchSize(1).GetAsyncEnumerator(timeout.Token);
        Assert.True(await answers.MoveNextAsync());
        Assert.Equal(taskId, answers.Current.TaskId);
        Assert.True(await channel.IsInUse());
        await answers.DisposeAsync();

        // The engine still holds the task: only the channel's resume window ends it.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (await channel.IsInUse() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.False(await channel.IsInUse(), "the channel still counts the reader that went, so its task was never cancelled");
    }
}
