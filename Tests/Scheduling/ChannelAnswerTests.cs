using MitTts.Grains.Interfaces;
using MitTts.Tests.Support;

namespace MitTts.Tests.Scheduling;

/// <summary>What one answer of a channel holds: a reader in another process (a client gateway's) gets a task's start together with its
/// first audio, and everything already there at once, since each answer costs it a round trip; a reader on the channel's own silo gets
/// one event per answer and the start at once. The channels here hold a start for its audio up to a minute, so a paused engine shows
/// the hold on any machine.</summary>
[Collection(SchedulingCollection.Name)]
public sealed class ChannelAnswerTests(LongHoldCluster cluster) : IClassFixture<LongHoldCluster>, IDisposable
{
    private const string Text = "Held start.";

    public void Dispose() => ScriptedEngine.Reset();

    [Fact]
    public async Task A_client_gateways_reader_gets_a_tasks_start_with_its_first_audio_in_one_answer()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var asking = await AskThenSubmit(local: false, whole: false, timeout.Token);
        var (answers, first, taskId) = (asking.Answers, asking.First, asking.TaskId);

        // The engine has begun the sentence and waits: the task has started, and its start waits for the audio.
        await ScriptedEngine.StepUntilStarted(Text);
        Assert.False(first.IsCompleted);
        ScriptedEngine.Step();

        Assert.True(await first);
        var start = Assert.IsType<TaskStartedEvent>(answers.Current);
        Assert.Equal(taskId, start.TaskId);
        Assert.NotNull(start.Following);
        var audio = Assert.IsType<AudioEvent>(start.Following[0]);
        Assert.Equal(taskId, audio.TaskId);
        Assert.Equal(start.Sequence + 1, audio.Sequence);
        Assert.NotEmpty(audio.Audio);
    }

    [Fact]
    public async Task A_task_whose_audio_comes_whole_at_its_end_starts_at_once_for_a_client_gateways_reader()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var asking = await AskThenSubmit(local: false, whole: true, timeout.Token);
        var answers = asking.Answers;

        // Its audio is one event at its end (stream: false): the start does not wait for it, though the engine holds it back.
        await StartComesAlone(asking, timeout.Token);

        ScriptedEngine.Resume();
        var rest = new List<ChannelEvent>();
        while (rest.Count == 0 || rest[^1] is not TaskEndedEvent)
        {
            Assert.True(await answers.MoveNextAsync());
            rest.AddRange(Events(answers.Current));
        }

        Assert.Collection(rest, e => Assert.IsType<AudioEvent>(e), e => Assert.IsType<TaskEndedEvent>(e));
    }

    [Fact]
    public async Task A_reader_on_the_channels_silo_gets_the_start_at_once_and_one_event_per_answer()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var asking = await AskThenSubmit(local: true, whole: false, timeout.Token);

        // The start comes while the engine holds the sentence's audio back: nothing waits for it.
        await StartComesAlone(asking, timeout.Token);

        ScriptedEngine.Resume();
        var rest = await ReadAnswers(asking.Answers, asking.TaskId);
        Assert.All(rest, answer => Assert.Null(answer.Following));
        Assert.NotEmpty(rest.OfType<AudioEvent>());
        Assert.IsType<TaskEndedEvent>(rest[^1]);
    }

    [Fact]
    public async Task A_client_gateways_reader_gets_the_events_already_there_in_one_answer_the_same_as_one_by_one()
    {
        ScriptedEngine.Reset();
        var channel = await NewChannel();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var taskId = await SchedulingCluster.SubmitPcm(channel, Text);

        // The whole task, one event per answer, as a reader on the channel's silo reads it.
        List<ChannelEvent> oneByOne;
        await using (var answers = Answers(channel, await LocalReader(channel), timeout.Token))
        {
            oneByOne = await ReadAnswers(answers, taskId);
        }

        Assert.True(oneByOne.Count >= 3, $"{oneByOne.Count} events");

        // Everything is in the channel's log now: a client gateway's reader listening from the start has all of it in its first answer.
        await using (var answers = Answers(channel, ChannelReader.Client, timeout.Token))
        {
            Assert.True(await answers.MoveNextAsync());
            var together = Events(answers.Current);
            Assert.Equal(oneByOne.Select(e => (e.Sequence, e.GetType())), together.Select(e => (e.Sequence, e.GetType())));
            Assert.Equal(
                oneByOne.OfType<AudioEvent>().SelectMany(a => a.Audio).ToArray(),
                together.OfType<AudioEvent>().SelectMany(a => a.Audio).ToArray());
            Assert.All(together.Skip(1), e => Assert.Null(e.Following));
        }
    }

    /// <summary>With the engine paused: a new channel's reader (a client gateway's, or one on the channel's silo) asks for its first
    /// answer, then a task is submitted.</summary>
    private async Task<Asking> AskThenSubmit(bool local, bool whole, CancellationToken cancellationToken)
    {
        ScriptedEngine.Reset();
        ScriptedEngine.Pause();
        var channel = await NewChannel();
        var answers = Answers(channel, local ? await LocalReader(channel) : ChannelReader.Client, cancellationToken);
        try
        {
            var first = answers.MoveNextAsync().AsTask();
            return new Asking(answers, first, await SchedulingCluster.SubmitPcm(channel, Text, whole));
        }
        catch
        {
            await answers.DisposeAsync();
            throw;
        }
    }

    /// <summary>The engine begins the sentence and holds it back: the task's start is the first answer, alone.</summary>
    private static async Task StartComesAlone(Asking asking, CancellationToken cancellationToken)
    {
        await ScriptedEngine.StepUntilStarted(Text);
        Assert.True(await asking.First.WaitAsync(cancellationToken));
        var start = Assert.IsType<TaskStartedEvent>(asking.Answers.Current);
        Assert.Equal(asking.TaskId, start.TaskId);
        Assert.Null(start.Following);
    }

    private sealed record Asking(IAsyncEnumerator<ChannelEvent> Answers, Task<bool> First, string TaskId) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Answers.DisposeAsync();
    }

    private async Task<IAudioChannelGrain> NewChannel()
    {
        var channel = cluster.Grains.GetGrain<IAudioChannelGrain>("answers-" + Guid.NewGuid().ToString("N"));
        await channel.GetLastReleased();
        return channel;
    }

    /// <summary>The channel's answers from its start, one asked for at a time, as the gateway's reader asks.</summary>
    private static IAsyncEnumerator<ChannelEvent> Answers(IAudioChannelGrain channel, ChannelReader reader, CancellationToken cancellationToken) =>
        channel.Listen(0, reader, cancellationToken).WithBatchSize(1).GetAsyncEnumerator(cancellationToken);

    /// <summary>A reader on the channel's own silo (a co-hosted gateway's).</summary>
    private async Task<ChannelReader> LocalReader(IAudioChannelGrain channel) =>
        new((await cluster.Grains.GetGrain<IManagementGrain>(0).GetActivationAddress(channel))!.ToParsableString(), []);

    /// <summary>An answer's events: its own, then those it carries.</summary>
    private static List<ChannelEvent> Events(ChannelEvent answer) => [answer, .. answer.Following ?? []];

    /// <summary>Answers of <paramref name="taskId"/> to its end (each answer's own event; what follows it in the same answer stays on it).</summary>
    private static async Task<List<ChannelEvent>> ReadAnswers(IAsyncEnumerator<ChannelEvent> answers, string taskId)
    {
        var read = new List<ChannelEvent>();
        while (await answers.MoveNextAsync())
        {
            if (answers.Current.TaskId == taskId)
            {
                read.Add(answers.Current);
                if (answers.Current is TaskEndedEvent)
                {
                    return read;
                }
            }
        }

        throw new Xunit.Sdk.XunitException("the listening ended before the task did");
    }
}
