using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MitTts.Gateway.Hosting;
using MitTts.Gateway.Telemetry;
using MitTts.Gateway.WebSockets;
using MitTts.Grains.Channels;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;

namespace MitTts.Tests.Observability;

/// <summary>What the audio and frame paths record allocates nothing per chunk, with a listener taking every measurement.</summary>
public sealed class MetricsAllocationTests
{
    [Fact]
    public void Recording_on_the_audio_and_frame_paths_allocates_nothing()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        var device = new SchedulingMetrics(meters).ForDevice("node/cpu:0");
        var gateway = new GatewayMetrics(meters, new ConnectionCounter(), new ResourceMonitor(TimeProvider.System, Options.Create(new GatewayTtsOptions())));
        var clock = new FirstAudioClock(gateway);
        var stages = new StreamStageMetrics(meters);
        using var listener = Listen(meters);

        void Record()
        {
            device.Queued(Priority.High, +1);
            device.Queued(Priority.High, -1);
            device.Waited(Priority.High, TimeSpan.FromMilliseconds(2));
            device.Preempted(Priority.Normal);
            device.CacheHit();
            device.Spoken("espeak-ng", 1.5, 0.002);
            clock.AudioSent("task_a", Stopwatch.GetTimestamp());
            gateway.StreamAccepted(Stopwatch.GetTimestamp());
            gateway.StreamDelivered(Stopwatch.GetTimestamp());
            stages.Dispatched(Stopwatch.GetTimestamp());
            stages.FirstPiece(Stopwatch.GetTimestamp());
            stages.FirstPieceRead(Stopwatch.GetTimestamp());
            gateway.FirstAudioStreamed(Stopwatch.GetTimestamp());
            gateway.InterruptAcknowledged(Stopwatch.GetTimestamp());
            gateway.Error("busy");
            gateway.Rejected("busy");
        }

        // Tag lists are built on first use; after that, three rounds, and the quietest must allocate nothing (a GC under a busy run
        // can cost a round one allocation that is not ours).
        Record();
        var fewest = long.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 1000; i++)
            {
                Record();
            }

            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, fewest);
        Assert.True(listener.Measurements > 16_000, $"{listener.Measurements} measurements seen");
    }

    private static CountingListener Listen(IMeterFactory scope)
    {
        var listener = new CountingListener();
        listener.Listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, scope))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.Listener.SetMeasurementEventCallback<long>((_, _, _, _) => listener.Measurements++);
        listener.Listener.SetMeasurementEventCallback<double>((_, _, _, _) => listener.Measurements++);
        listener.Listener.Start();
        return listener;
    }

    private sealed class CountingListener : IDisposable
    {
        public MeterListener Listener { get; } = new();

        public long Measurements { get; set; }

        public void Dispose() => Listener.Dispose();
    }
}
