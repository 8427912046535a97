using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Synthesis;

/// <summary>First thing when the silo stops: its synthesizers end the jobs they hold, while the rest of the silo (storage, the task
/// and channel grains that own those jobs) is still up to hear it. Owners re-issue the jobs on another silo, or, in one process,
/// say the server stopped. Left to grain deactivation, the owners would find storage gone and the device still listed.</summary>
public sealed partial class SynthesizerShutdown(
    IOptions<NodeOptions> node,
    ILocalSiloDetails localSilo,
    IGrainFactory grains,
    ILogger<SynthesizerShutdown> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(nameof(SynthesizerShutdown), ServiceLifecycleStage.Active, _ => Task.CompletedTask, Stop);
    }

    private async Task Stop(CancellationToken cancellationToken)
    {
        var stopping = new List<Task>();
        foreach (var device in node.Value.EffectiveDevices)
        {
            stopping.Add(grains.GetGrain<ISynthesizerGrain>(DeviceKeys.For(localSilo.Name, device)).StopForShutdown());
        }

        try
        {
            await Task.WhenAll(stopping).WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is OrleansException or TimeoutException or OperationCanceledException)
        {
            LogStopFailed(e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopping the synthesizers did not finish ({Reason}); their jobs end with the silo")]
    private partial void LogStopFailed(string reason);
}
