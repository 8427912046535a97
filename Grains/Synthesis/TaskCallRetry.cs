namespace MitTts.Grains.Synthesis;

/// <summary>Calls to a task grain sent again while the silo that hosted it dies and the grain moves (a channel's reports, which are a
/// streamed task's record's only copy).</summary>
/// <remarks>Between a silo's death and the cluster declaring it dead (a few seconds with the cluster's probe settings), calls to its
/// grains fail; after it, the grain activates again elsewhere. The waits add up to longer than that; the last failure is thrown.</remarks>
public static class TaskCallRetry
{
    private static readonly TimeSpan[] s_delays =
        [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(16)];

    public static async Task WhileSiloDies(Func<Task> call, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(call);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await call();
                return;
            }
            catch (Exception e) when (attempt < s_delays.Length && e is OrleansException or TimeoutException)
            {
                await Task.Delay(s_delays[attempt], time);
            }
        }
    }
}
