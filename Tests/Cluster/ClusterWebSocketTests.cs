using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Cluster;

/// <summary>The WebSocket protocol across the cluster: a session outlives the gateway that carried it.</summary>
[Collection(RealClusterCollection.Name)]
public sealed class ClusterWebSocketTests(RealClusterFixture cluster) : IAsyncLifetime
{
    public Task InitializeAsync() => cluster.EnsureHealthy();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_client_whose_gateway_is_killed_mid_stream_resumes_through_nginx_on_the_other_one()
    {
        var sessionId = "cluster-resume-" + Guid.NewGuid().ToString("N");
        var text = string.Join(" ", Enumerable.Repeat("Ningún fragmento se pierde ni se repite cuando cae el nodo que lo enviaba.", 40));
        var received = new List<ServerMessage>();
        string taskId;
        using (var direct = cluster.Gateway("gateway-a"))
        {
            await using var first = await ProtocolClient.Connect(direct.BaseAddress!);
            await first.Send(new { type = "connect", session_id = sessionId });
            await first.Receive();
            await first.Send(new { type = "synthesize", text, voice_id = "es-female-1", format = "pcm" });
            taskId = (await first.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;

            var frames = 0;
            received.AddRange(await first.ReceiveUntil(m => m.IsAudio && ++frames == 3));

            // The gateway dies as a machine would; the session's channel lives on in the silos.
            await cluster.Process("gateway-a").Kill();
        }

        var last = received.Last(m => m.Seq is not null).Seq!.Value;
        await using var second = await ProtocolClient.Connect(cluster.Balancer.BaseAddress!);
        await second.Send(new { type = "connect", session_id = sessionId, last_sequence = last });
        var connected = await second.Receive();
        Assert.Equal("connected", connected!.Type);
        Assert.True(connected.Json!["resumed"]!.GetValue<bool>());
        var rest = await second.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId), TimeSpan.FromSeconds(60));

        // Every sequence once, in order, from the first frame to the end status; the audio adds up to the task's duration.
        Assert.Equal(last + 1, rest[0].Seq);
        var all = received.Where(m => m.Seq is not null).Concat(rest).Select(m => m.Seq!.Value).ToList();
        Assert.Equal(Enumerable.Range((int)all[0], all.Count).Select(i => (long)i), all);
        Assert.Equal("completed", rest[^1].Str("status"));
        var bytes = received.Concat(rest).Where(m => m.IsAudio).Sum(m => m.Audio!.Length);
        var durationMs = rest[^1].Json!["duration_ms"]!.GetValue<int>();
        Assert.InRange(bytes / 2.0 / 22050 * 1000, durationMs - 2, durationMs + 2);
    }
}
