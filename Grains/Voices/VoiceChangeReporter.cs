using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis.Neural;

namespace MitTts.Grains.Voices;

/// <summary>Tells the voice catalogue when a model fails on this silo, so gateways stop offering its voices from their caches.</summary>
public sealed partial class VoiceChangeReporter(NeuralEngines neural, IGrainFactory grains, ILogger<VoiceChangeReporter> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        neural.AvailabilityChanged += Report;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        neural.AvailabilityChanged -= Report;
        return Task.CompletedTask;
    }

    private void Report() => _ = ReportAsync();

    private async Task ReportAsync()
    {
        try
        {
            await grains.GetGrain<IVoiceCatalogGrain>(0).Changed();
        }
        catch (Exception e)
        {
            // The catalogue's silo is unreachable: its next activation starts from a new version, which gateways take as a change.
            LogReportFailed(e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell the voice catalogue that a model failed here")]
    private partial void LogReportFailed(Exception exception);
}
