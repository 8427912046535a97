using MitTts.Grains.Interfaces;

namespace MitTts.Tests.Grains;

[Collection(ClusterCollection.Name)]
public sealed class SessionGrainTests(ClusterFixture fixture)
{
    private ISessionGrain NewSession() => fixture.Grains.GetGrain<ISessionGrain>("s-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Opening_a_session_records_owner_and_activity()
    {
        var session = NewSession();

        var opened = await session.Open("alice");
        var reopened = await session.Open("mallory");

        Assert.Equal("alice", opened.OwnerId);
        Assert.Equal("alice", reopened.OwnerId);
        Assert.Equal(opened.CreatedAt, reopened.CreatedAt);
        Assert.True(reopened.LastActivity >= opened.LastActivity);
    }

    [Fact]
    public async Task Tasks_are_active_until_they_finish()
    {
        var session = NewSession();
        await session.Open(null);

        await session.AddTask("t1");
        await session.AddTask("t2");
        await session.AddTask("t1");
        var during = await session.GetSnapshot();
        await session.TaskFinished("t1");
        await session.TaskFinished("unknown");
        var after = await session.GetSnapshot();

        Assert.Equal(["t1", "t2"], during!.ActiveTaskIds);
        Assert.Equal(["t2"], after!.ActiveTaskIds);
        Assert.Equal(1, after.CompletedTaskCount);
    }

    [Fact]
    public async Task A_task_that_finished_before_it_was_booked_is_not_left_active()
    {
        // A task's job can end while its Submit is still booking it: the session hears TaskFinished first, then AddTask.
        var session = NewSession();
        await session.Open(null);

        await session.TaskFinished("fast");
        await session.AddTask("fast");
        await session.AddTask("slow");
        var snapshot = await session.GetSnapshot();

        Assert.Equal(["slow"], snapshot!.ActiveTaskIds);
        Assert.Equal(1, snapshot.CompletedTaskCount);
    }

    [Fact]
    public async Task A_task_submitted_with_a_session_is_booked_there_until_it_completes()
    {
        var sessionId = "s-" + Guid.NewGuid().ToString("N");
        var session = fixture.Grains.GetGrain<ISessionGrain>(sessionId);
        await session.Open(null);
        var task = fixture.Grains.GetGrain<ITaskGrain>("task_" + Guid.NewGuid().ToString("N"));

        await task.Submit(new SynthesisRequest("Session bookkeeping.", "es-female-1", AudioFormat.Wav, Priority.Normal, sessionId, 1, 1));
        await task.WaitForCompletion();
        var snapshot = await session.GetSnapshot();

        Assert.Empty(snapshot!.ActiveTaskIds);
        Assert.Equal(1, snapshot.CompletedTaskCount);
    }
}
