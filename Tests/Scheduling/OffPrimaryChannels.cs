using MitTts.Grains.Interfaces;

namespace MitTts.Tests.Scheduling;

/// <summary>Channels placed off the primary silo of a <see cref="GatewayPerSiloCluster"/> (so a test can kill their silo and keep its own
/// client), and reading one task of a channel to its end as the gateway reads.</summary>
internal static class OffPrimaryChannels
{
    /// <summary>Submits <paramref name="request"/> on new sessions until one's channel lives on a silo other than the primary (whose
    /// death would take the test's reader with it); the channel, the task and the silo.</summary>
    public static async Task<(IAudioChannelGrain Channel, string TaskId, SiloAddress Home)> Submit(SchedulingCluster cluster, string prefix, SynthesisRequest request, bool whole)
    {
        var management = cluster.Grains.GetGrain<IManagementGrain>(0);
        var primary = cluster.Cluster.Primary!.SiloAddress;
        for (var attempt = 0; attempt < 20; attempt++)
        {
            // Placed by a call that starts no work: a task submitted to a channel that is then passed over would run the same text on
            // the paused engine, and the test's step could let that one through instead of its own.
            var channel = cluster.Grains.GetGrain<IAudioChannelGrain>($"{prefix}-{attempt}-{Guid.NewGuid():N}");
            await channel.GetLastReleased();
            if (await management.GetActivationAddress(channel) is { } home && !home.Equals(primary))
            {
                var taskId = "task_" + Guid.NewGuid().ToString("N");
                Assert.IsType<TaskAccepted>(await channel.Submit(new ChannelTaskInfo(taskId, null, null, whole), request with { SessionId = channel.GetPrimaryKeyString() }));
                return (channel, taskId, home);
            }
        }

        throw new Xunit.Sdk.XunitException("no channel was placed off the primary silo");
    }

    /// <summary>Every event of one task from a channel, read as the gateway reads (listening again on the channel's new silo).</summary>
    public static async Task<List<ChannelEvent>> ReadUntilEnd(IAudioChannelGrain channel, string taskId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var reader = new MitTts.Gateway.Channels.ResumingChannelReader(
            channel, 0, "test", Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, MitTts.Gateway.Channels.ChannelReaderHome.Client);
        var events = new List<ChannelEvent>();
        while (true)
        {
            var channelEvent = await reader.Next(timeout.Token);
            if (channelEvent?.TaskId != taskId)
            {
                continue;
            }

            events.Add(channelEvent);
            if (channelEvent is TaskEndedEvent)
            {
                return events;
            }
        }
    }

    /// <summary>What the channel's check answers once it answers at all: after its silo is killed, calls fail or time out until the
    /// channel is restored on a silo that lives.</summary>
    public static async Task<long> FirstAnswer(IAudioChannelGrain channel)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                return await channel.GetLastReleased();
            }
            catch (Exception e) when (e is OrleansException or TimeoutException && DateTime.UtcNow < deadline)
            {
                // The dead silo's activation is still in the directory: asked again, once membership has declared it dead.
                await Task.Delay(50);
            }
        }
    }

    /// <summary>The audio of <paramref name="events"/>, joined in order.</summary>
    public static byte[] Join(List<ChannelEvent> events) => events.OfType<AudioEvent>().SelectMany(a => a.Audio).ToArray();
}
