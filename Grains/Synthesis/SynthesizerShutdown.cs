using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Synthesis;

/// <summary>First thing when the silo stops: its synthesizers end the jobs they hold, while the rest of the silo (storage, the task
/// and channel grains that own those jobs) is still up to hear it. Owners re-issue the jobs on another silo, or, in one process,
/// say the server stopped. Left to grain deactivation, the owners would find storage gone and the device still listed.</summary>
/// <remarks>It starts as soon as the host is told to stop (before its web server stops), so a WebSocket of the same process still tells
/// its client how its tasks ended before it closes; the silo's own stop then waits for it.</remarks>
public sealed partial class SynthesizerShutdown(
    IOptions<NodeOptions> node,
    ILocalSiloDetails localSilo,
    IGrainFactory grains,
    IHostApplicationLifetime lifetime,
    ILogger<SynthesizerShutdown> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly Lock _gate = new();
    private Task? _stopping;
    private CancellationTokenRegistration _onHostStopping;

    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(nameof(SynthesizerShutdown), ServiceLifecycleStage.Active, Started, Stop);
    }

    private Task Started(CancellationToken cancellationToken)
    {
        _onHostStopping = lifetime.ApplicationStopping.Register(() => StopOnce());
        return Task.CompletedTask;
    }

    private async Task Stop(CancellationToken cancellationToken)
    {
        _onHostStopping.Dispose();
        try
        {
            await StopOnce().WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException e)
        {
            LogStopFailed(e.Message);
        }
    }

    private Task StopOnce()
    {
        lock (_gate)
        {
            return _stopping ??= StopAll();
        }
    }

    private async Task StopAll()
    {
        var stopping = new List<Task>();
        foreach (var device in node.Value.EffectiveDevices)
        {
            stopping.Add(grains.GetGrain<ISynthesizerGrain>(DeviceKeys.For(localSilo.Name, device)).StopForShutdown());
        }

        try
        {
            await Task.WhenAll(stopping);
        }
        catch (Exception e) when (e is OrleansException or TimeoutException or OperationCanceledException)
        {
            LogStopFailed(e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopping the synthesizers did not finish ({Reason}); their jobs end with the silo")]
    private partial void LogStopFailed(string reason);
}
