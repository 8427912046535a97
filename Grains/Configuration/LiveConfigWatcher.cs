using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Configuration;

/// <summary>Follows the cluster's live overrides (<see cref="ILiveConfigGrain"/>) into this process's <see cref="LiveSettings"/>:
/// one outstanding <c>WaitForChange</c> call at a time, answered the moment an operator changes something.</summary>
public sealed partial class LiveConfigWatcher(IGrainFactory grains, LiveSettings settings, ILogger<LiveConfigWatcher> logger) : BackgroundService
{
    // Under Orleans' 30 s response timeout, so a wait never reads as a failure.
    private static readonly TimeSpan s_maxWait = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan s_retry = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        long known = -1;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Inside the try: a client that has not reached a silo yet knows no grain implementation, and says so here.
                var grain = grains.GetGrain<ILiveConfigGrain>(0);
                var overrides = await grain.WaitForChange(known, s_maxWait).WaitAsync(stoppingToken);
                if (overrides.Version != known)
                {
                    known = overrides.Version;
                    settings.Apply(overrides);
                    LogApplied(overrides.Version);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The cluster is starting, or the grain's silo went away: ask again shortly (the grain comes back elsewhere).
                LogWaitFailed(e);
                await Task.Delay(s_retry, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Live configuration version {Version} applied")]
    private partial void LogApplied(long version);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Waiting for live configuration failed; asking again")]
    private partial void LogWaitFailed(Exception exception);
}
