using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Cluster;

/// <summary>A text task's record, read through another gateway the instant the socket names the task, on a cluster of its own.</summary>
/// <remarks>The shared cluster's failover tests kill and restart silos. In the full cluster run this test, run right after one of them,
/// read 404 for one task: it had started while the killed silo's restart was still joining (the fixture's settle check now waits for
/// that). For a while after a restart, a new grain activation whose directory partition is moving between silos can also be dropped
/// with what it holds in memory (Orleans' default grain directory is eventually consistent), and a streamed task's record is held in
/// memory only. What this test proves is the steady state, so it runs where no silo has died.</remarks>
[Collection(TextRecordClusterCollection.Name)]
public sealed class ClusterTextRecordTests(TextRecordClusterFixture cluster) : IAsyncLifetime
{
    public Task InitializeAsync() => cluster.EnsureHealthy();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Text_tasks_are_found_through_another_gateway_the_moment_their_processing_status_names_them()
    {
        // LLM-style text on gateway-a, cut into tasks by the channel; each is read on gateway-b the instant its processing status
        // arrives. The channel sends each task's Track before the task can start: the record is on its way before the client can hear of it.
        using var other = cluster.Gateway("gateway-b");
        using var direct = cluster.Gateway("gateway-a");
        await using var client = await ProtocolClient.Connect(direct.BaseAddress!);
        await client.Send(new { type = "connect", session_id = "cluster-text-" + Guid.NewGuid().ToString("N") });
        await client.Receive();
        const int Sentences = 12;
        for (var i = 0; i < Sentences; i++)
        {
            await client.Send(i == 0
                ? new { type = "text", context_id = "c1", text = $"Frase {i} del agente, dicha entera. ", voice_id = "es-female-1", format = "pcm" }
                : (object)new { type = "text", context_id = "c1", text = $"Frase {i} del agente, dicha entera. " });
        }

        await client.Send(new { type = "end", context_id = "c1" });
        var read = new List<string>();
        while (true)
        {
            var next = (await client.ReceiveUntil(m => m.Str("status") == "processing" || m.Type == "context_end"))[^1];
            if (next.Type == "context_end")
            {
                break;
            }

            var taskId = next.Str("task_id")!;
            using var answer = await other.GetAsync($"/api/v1/tasks/{taskId}");
            var body = await answer.Content.ReadAsStringAsync();
            Assert.True(answer.IsSuccessStatusCode, $"task {read.Count}: {body}");
            read.Add(taskId);
        }

        Assert.Equal(Sentences, read.Count);
    }
}

/// <summary>A real cluster for <see cref="ClusterTextRecordTests"/> alone: no silo of it is ever killed.</summary>
public sealed class TextRecordClusterFixture : RealClusterFixture;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TextRecordClusterCollection : ICollectionFixture<TextRecordClusterFixture>
{
    public const string Name = "text record cluster";
}
