using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MitTts.Gateway.Hosting;
using MitTts.Gateway.Telemetry;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;

namespace MitTts.Tests.Observability;

/// <summary>The gauges under the seed's names (<c>queue_size</c>, <c>active_connections</c>) read what they name, per meter scope.</summary>
public sealed class SeedMetricsTests
{
    [Fact]
    public void Queue_size_is_every_waiting_job_of_the_silo_whatever_its_level_or_device()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        var metrics = new SchedulingMetrics(meters);
        var cpu = metrics.ForDevice("node/cpu:0");
        var gpu = metrics.ForDevice("node/cuda:0");

        cpu.Queued(Priority.Normal, +3);
        cpu.Queued(Priority.Critical, +1);
        gpu.Queued(Priority.High, +2);
        cpu.Queued(Priority.Normal, -1);
        Assert.Equal(5, Observe(meters, "mittts.queue_size"));

        cpu.Queued(Priority.Normal, -2);
        cpu.Queued(Priority.Critical, -1);
        gpu.Queued(Priority.High, -2);
        Assert.Equal(0, Observe(meters, "mittts.queue_size"));
    }

    [Fact]
    public void Active_connections_are_the_open_websockets()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        var gateway = new GatewayMetrics(meters, new ConnectionCounter(), new ResourceMonitor(TimeProvider.System, Options.Create(new GatewayTtsOptions())));

        gateway.WebSocketOpened();
        gateway.WebSocketOpened();
        gateway.WebSocketOpened();
        gateway.WebSocketClosed();
        Assert.Equal(2, Observe(meters, "mittts.active_connections"));

        gateway.WebSocketClosed();
        gateway.WebSocketClosed();
        Assert.Equal(0, Observe(meters, "mittts.active_connections"));
    }

    /// <summary>The sum of what the observable instrument <paramref name="name"/> of <paramref name="scope"/>'s meters reports now.</summary>
    private static long Observe(IMeterFactory scope, string name)
    {
        long sum = 0;
        var seen = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, scope) && instrument.Name == name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
            sum += value;
            seen++;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        Assert.Equal(1, seen);
        return sum;
    }
}
