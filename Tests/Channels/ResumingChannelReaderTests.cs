using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using MitTts.Gateway.Channels;
using MitTts.Grains.Interfaces;

namespace MitTts.Tests.Channels;

/// <summary>The gateway's reader of a channel, on a channel of its own making and a fake clock: a listening whose answer never comes
/// (it was on its way through a silo gateway that died) is given up within the silence check and the reading goes on after the last
/// event read, while a listening that is merely quiet is left alone.</summary>
public sealed class ResumingChannelReaderTests
{
    private const long Total = 6;

    [Fact]
    public async Task A_listening_stuck_while_the_channel_has_more_is_given_up_and_the_reading_goes_on_in_order()
    {
        var time = new FakeTimeProvider();
        var channel = new ScriptedChannel(released: Total, stuckAfter: 3);
        await using var reader = new ResumingChannelReader(channel, 0, "test", NullLogger.Instance, ChannelReaderHome.Client, time: time);

        var read = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            read.Add((await reader.Next(CancellationToken.None))!.Sequence);
        }

        var next = reader.Next(CancellationToken.None).AsTask();
        var advanced = await AdvanceUntil(time, () => next.IsCompleted);
        read.Add((await next)!.Sequence);
        for (var i = 4; i < Total; i++)
        {
            read.Add((await reader.Next(CancellationToken.None))!.Sequence);
        }

        Assert.Equal([1L, 2, 3, 4, 5, 6], read);
        Assert.Equal([0L, 3], channel.ListenedAfter);

        // The silence check (2 s) and the first retry's pause (0.25 s): far inside the 30 s a stuck call would otherwise wait.
        Assert.InRange(advanced, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task A_quiet_listening_on_a_channel_with_nothing_more_is_kept()
    {
        var time = new FakeTimeProvider();
        var channel = new ScriptedChannel(released: 2, stuckAfter: null);
        await using var reader = new ResumingChannelReader(channel, 0, "test", NullLogger.Instance, ChannelReaderHome.Client, time: time);
        Assert.Equal(1, (await reader.Next(CancellationToken.None))!.Sequence);
        Assert.Equal(2, (await reader.Next(CancellationToken.None))!.Sequence);

        var next = reader.Next(CancellationToken.None).AsTask();
        var advanced = await AdvanceUntil(time, () => channel.Checks >= 5);

        // Five checks, one every 2 s of waiting, each finding nothing past event 2.
        Assert.InRange(advanced, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(11));
        Assert.False(next.IsCompleted);
        Assert.Equal([0L], channel.ListenedAfter);

        // The event that comes next arrives on the same listening.
        channel.Release(3);
        Assert.Equal(3, (await next.WaitAsync(TimeSpan.FromSeconds(10)))!.Sequence);
        Assert.Equal([0L], channel.ListenedAfter);
    }

    [Fact]
    public async Task Events_that_come_in_one_answer_are_handed_out_one_by_one_and_a_listening_again_starts_after_the_last_of_them()
    {
        // Answers of two events (a client gateway's reader gets what is there at once): 1+2, then 3 alone before the first listening
        // hangs; the reader listens again after 3, the last event it has, and hands out 4 to 6 in order.
        var time = new FakeTimeProvider();
        var channel = new ScriptedChannel(released: Total, stuckAfter: 3) { PerAnswer = 2 };
        await using var reader = new ResumingChannelReader(channel, 0, "test", NullLogger.Instance, ChannelReaderHome.Client, time: time);
        var read = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            read.Add((await reader.Next(CancellationToken.None))!.Sequence);
        }

        var next = reader.Next(CancellationToken.None).AsTask();
        await AdvanceUntil(time, () => next.IsCompleted);
        read.Add((await next)!.Sequence);
        for (var i = 4; i < Total; i++)
        {
            read.Add((await reader.Next(CancellationToken.None))!.Sequence);
        }

        Assert.Equal([1L, 2, 3, 4, 5, 6], read);
        Assert.Equal([0L, 3], channel.ListenedAfter);
        Assert.Equal(4, channel.Answers);
    }

    [Fact]
    public async Task A_gap_inside_an_answer_is_reported_where_it_is_and_an_event_read_before_is_not_handed_out_again()
    {
        var channel = new ScriptedChannel(released: Total, stuckAfter: null)
        {
            Script = [[new TaskStartedEvent(1, "t", null, null), new TaskStartedEvent(2, "t", null, null), new TaskStartedEvent(4, "t", null, null)],
                [new TaskStartedEvent(4, "t", null, null), new TaskStartedEvent(5, "t", null, null)]],
        };
        var gaps = new List<(long, long)>();
        await using var reader = new ResumingChannelReader(channel, 0, "test", NullLogger.Instance, ChannelReaderHome.Client,
            new ChannelReading { OnGap = (last, next) => gaps.Add((last, next)) });
        var read = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            read.Add((await reader.Next(CancellationToken.None))!.Sequence);
        }

        Assert.Equal([1L, 2, 4, 5], read);
        Assert.Equal([(2L, 4L)], gaps);
    }

    public static TheoryData<string> CheckFailures => ["timeout", "cancellation"];

    [Theory]
    [MemberData(nameof(CheckFailures))]
    public async Task A_channel_that_does_not_answer_the_check_is_listened_to_again(string failure)
    {
        // No answer in time, or a silo shutting down refusing the check it cannot place ("message expired before placement could
        // complete"): the caller hears an OperationCanceledException it never asked for. Either is a silent channel; the watch must not
        // die of it and leave the stuck listening waiting for good.
        var time = new FakeTimeProvider();
        var channel = new ScriptedChannel(released: Total, stuckAfter: 3)
        {
            CheckFailure = failure == "timeout" ? new TimeoutException("no answer")
                : new OperationCanceledException("Message expired before placement could complete for grain audiochannel/x."),
        };
        await using var reader = new ResumingChannelReader(channel, 0, "test", NullLogger.Instance, ChannelReaderHome.Client, time: time);
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(i, (await reader.Next(CancellationToken.None))!.Sequence);
        }

        var next = reader.Next(CancellationToken.None).AsTask();
        await AdvanceUntil(time, () => next.IsCompleted);
        Assert.Equal(4, (await next)!.Sequence);
        Assert.Equal([0L, 3], channel.ListenedAfter);
    }

    [Fact]
    public async Task A_channel_that_has_released_less_than_the_reader_read_is_listened_to_again()
    {
        // A channel restored on another silo from a save older than what its reader read early (a client gateway's reader): the answer
        // in flight to the dead silo never comes, and the new channel's released point is below the reader's.
        var time = new FakeTimeProvider();
        var channel = new ScriptedChannel(released: Total, stuckAfter: 3) { Reports = 2 };
        await using var reader = new ResumingChannelReader(channel, 0, "test", NullLogger.Instance, ChannelReaderHome.Client, time: time);
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(i, (await reader.Next(CancellationToken.None))!.Sequence);
        }

        var next = reader.Next(CancellationToken.None).AsTask();
        var advanced = await AdvanceUntil(time, () => next.IsCompleted);
        Assert.Equal(4, (await next)!.Sequence);
        Assert.Equal([0L, 3], channel.ListenedAfter);
        Assert.InRange(advanced, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task A_restored_channel_waiting_for_its_reader_is_listened_to_again_though_it_saved_just_what_the_reader_read()
    {
        // The channel's save held events 1-3, all the reader read, and no more came before its silo died: a live channel with nothing
        // more would answer 3 too, and its quiet listening is kept, but this one waits for its reader while the listening hangs.
        var time = new FakeTimeProvider();
        var channel = new ScriptedChannel(released: 3, stuckAfter: 3) { Reports = AudioChannelReleases.AwaitingReader };
        await using var reader = new ResumingChannelReader(channel, 0, "test", NullLogger.Instance, ChannelReaderHome.Client, time: time);
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(i, (await reader.Next(CancellationToken.None))!.Sequence);
        }

        var next = reader.Next(CancellationToken.None).AsTask();
        var advanced = await AdvanceUntil(time, () => channel.ListenedAfter.Count == 2);
        Assert.Equal([0L, 3], channel.ListenedAfter);
        Assert.InRange(advanced, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));

        // Listening again is what lets the restored channel go on: what it makes next comes on the new listening.
        channel.Release(4);
        Assert.Equal(4, (await next.WaitAsync(TimeSpan.FromSeconds(10)))!.Sequence);
    }

    /// <summary>Moves the clock on a quarter second at a time until <paramref name="done"/>; returns how far it moved.</summary>
    private static async Task<TimeSpan> AdvanceUntil(FakeTimeProvider time, Func<bool> done)
    {
        var step = TimeSpan.FromMilliseconds(250);
        var advanced = TimeSpan.Zero;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, $"still not there after {advanced} of the fake clock");

            // The reader's timers and continuations run on the thread pool: each step lets them see the time before the next.
            await Task.Delay(20);
            if (!done())
            {
                time.Advance(step);
                advanced += step;
            }
        }

        return advanced;
    }

    /// <summary>A channel of numbered task-start events: its first listening hangs for good after <c>stuckAfter</c> events, ignoring
    /// cancellation as a call whose answer was lost does; later listenings bring everything released.</summary>
    private sealed class ScriptedChannel(long released, long? stuckAfter) : IAudioChannelGrain
    {
        private readonly Lock _lock = new();
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _released = released;
        private int _checks;

        public List<long> ListenedAfter { get; } = [];

        /// <summary>What the check throws, when not an answer.</summary>
        public Exception? CheckFailure { get; init; }

        /// <summary>What the check answers, when not what is released (a channel restored from an older save).</summary>
        public long? Reports { get; init; }

        public int Checks => Volatile.Read(ref _checks);

        /// <summary>Events per answer: the first of each answer carries the others that are released (<see cref="ChannelEvent.Following"/>).</summary>
        public int PerAnswer { get; init; } = 1;

        /// <summary>Answers to give instead, in order, each its events (the first carries the rest); then the listening stays quiet.</summary>
        public IReadOnlyList<ChannelEvent[]>? Script { get; init; }

        public int Answers { get; private set; }

        public void Release(long sequence)
        {
            lock (_lock)
            {
                _released = sequence;
                _changed.TrySetResult();
                _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        public async IAsyncEnumerable<ChannelEvent> Listen(long afterSequence, ChannelReader? reader = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            bool first;
            lock (_lock)
            {
                first = ListenedAfter.Count == 0;
                ListenedAfter.Add(afterSequence);
            }

            if (Script is { } script)
            {
                foreach (var answer in script)
                {
                    Answers++;
                    yield return answer[0] with { Following = answer[1..] };
                }

                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            for (var sequence = afterSequence + 1; ; sequence++)
            {
                if (first && sequence > stuckAfter)
                {
                    await new TaskCompletionSource().Task;
                }

                Task changed;
                lock (_lock)
                {
                    changed = _changed.Task;
                }

                while (sequence > Volatile.Read(ref _released))
                {
                    await changed.WaitAsync(cancellationToken);
                    lock (_lock)
                    {
                        changed = _changed.Task;
                    }
                }

                var following = new List<ChannelEvent>();
                while (following.Count + 1 < PerAnswer && sequence + 1 <= Volatile.Read(ref _released) && !(first && sequence + 1 > stuckAfter))
                {
                    following.Add(new TaskStartedEvent(++sequence, "t", null, null));
                }

                Answers++;
                yield return new TaskStartedEvent(sequence - following.Count, "t", null, null) { Following = following.Count > 0 ? following : null };
            }
        }

        public Task<long> GetLastReleased()
        {
            Interlocked.Increment(ref _checks);
            return CheckFailure is { } failure ? Task.FromException<long>(failure) : Task.FromResult(Reports ?? Volatile.Read(ref _released));
        }

        public Task<SubmitResult> Submit(ChannelTaskInfo info, SynthesisRequest request) => throw new NotSupportedException();

        public Task<TextAppendResult> AppendText(string contextId, string text, TextContextOptions options, AnnouncedTaskId? spare) => throw new NotSupportedException();

        public Task<TextAppendResult> FlushText(string contextId, bool close) => throw new NotSupportedException();

        public Task<IReadOnlyList<ChannelTaskInfo>> Interrupt(IReadOnlyList<string>? taskIds, string? contextId, bool announced, long heardThrough) => throw new NotSupportedException();

        public Task<ChannelWindow> GetWindow() => throw new NotSupportedException();

        public Task<TaskProgress?> GetUnrecordedProgress(string taskId) => throw new NotSupportedException();

        public Task ShedBuffers() => throw new NotSupportedException();

        public Task<bool> IsInUse() => throw new NotSupportedException();

        public Task Close() => throw new NotSupportedException();
    }
}
