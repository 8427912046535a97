using MitTts.Grains.Interfaces;
using MitTts.Tests.Support;

namespace MitTts.Tests.Scheduling;

/// <summary>A REST task whose result the shared store has not taken yet (held in its silo, written behind) survives that silo's death.</summary>
[Collection(SchedulingCollection.Name)]
public sealed class HeldResultFailoverTests(WriteBehindCluster cluster) : IClassFixture<WriteBehindCluster>, IDisposable
{
    public void Dispose() => ScriptedEngine.Reset();

    [Fact]
    public async Task A_finished_task_whose_result_was_only_held_by_a_killed_silo_completes_again_on_a_survivor()
    {
        ScriptedEngine.Reset();
        var (taskGrain, home) = await TaskOffPrimary();
        var taskId = taskGrain.GetPrimaryKeyString();

        // The shared store stalls for this silo: the task ends with its result held here, not yet written.
        var store = GatedResultStore.For(home);
        store.Close();
        Assert.IsType<TaskAccepted>(await taskGrain.Submit(SchedulingCluster.Request("Held here only. Then lost.") with { Store = true }));
        Assert.Equal(SynthesisStatus.Completed, (await taskGrain.WaitForCompletion())!.Status);
        Assert.True(SharedGrainStorage.Holds(taskId), "the task's record was cleared while its result was held in one silo only");

        // The silo dies with the result unwritten.
        store.Cut();
        await cluster.Cluster.KillSiloAsync(cluster.Cluster.GetActiveSilos().Single(s => s.SiloAddress.Equals(home)));

        var again = cluster.Grains.GetGrain<ITaskGrain>(taskId);
        var ended = await Answer(again.WaitForCompletion);
        Assert.NotNull(ended);
        Assert.Equal(SynthesisStatus.Completed, ended.Status);
        var audio = await cluster.StoredAudio(taskId);
        Assert.True(audio.Length > 44, "the task completed on the survivor without its audio");
    }

    /// <summary>A fresh task grain activated on a silo other than the primary (whose death would take the test's client with it).</summary>
    private async Task<(ITaskGrain Task, SiloAddress Home)> TaskOffPrimary()
    {
        var management = cluster.Grains.GetGrain<IManagementGrain>(0);
        var primary = cluster.Cluster.Primary!.SiloAddress;
        for (var attempt = 0; attempt < 30; attempt++)
        {
            // PickUp activates the grain and does nothing for a task that does not exist.
            var taskGrain = cluster.NewTask();
            await taskGrain.PickUp();
            if (await management.GetActivationAddress(taskGrain) is { } home && !home.Equals(primary))
            {
                return (taskGrain, home);
            }
        }

        throw new Xunit.Sdk.XunitException("no task grain was placed off the primary silo");
    }

    /// <summary>The call's answer once it answers at all: calls to a grain of a killed silo fail until membership declares it dead.</summary>
    private static async Task<T> Answer<T>(Func<Task<T>> call)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                return await call().WaitAsync(TimeSpan.FromSeconds(20));
            }
            catch (Exception e) when (e is OrleansException or TimeoutException && DateTime.UtcNow < deadline)
            {
                // Not declared dead yet, or its directory entry not yet dropped: asked again.
            }
        }
    }
}
