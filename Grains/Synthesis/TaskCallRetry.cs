using Orleans.Runtime.Messaging;

namespace MitTts.Grains.Synthesis;

/// <summary>Calls from a synthesizer to a task grain or a session channel, retried while the silo that hosted it dies and the grain moves.</summary>
/// <remarks>Between a silo's death and the cluster declaring it dead (a few seconds), calls to its grains fail; after it, the
/// grain re-activates elsewhere from storage. Giving up on the first failure would drop finished audio on the floor.</remarks>
public static class TaskCallRetry
{
    private static readonly TimeSpan[] s_delays = [TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8)];

    public static async Task<T> WhileSiloDies<T>(Func<Task<T>> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (attempt < s_delays.Length && IsSiloLoss(e))
            {
                await Task.Delay(s_delays[attempt]);
            }
        }
    }

    public static Task WhileSiloDies(Func<Task> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        return WhileSiloDies(async () =>
        {
            await call();
            return true;
        });
    }

    private static bool IsSiloLoss(Exception e) => e is SiloUnavailableException or ConnectionFailedException
        || (e is OrleansMessageRejectionException && e.InnerException is null or ConnectionFailedException or SiloUnavailableException);
}
