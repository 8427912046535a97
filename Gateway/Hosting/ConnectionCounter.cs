namespace MitTts.Gateway.Hosting;

/// <summary>Counts open client connections (Kestrel connection middleware), for <c>/status</c>.</summary>
public sealed class ConnectionCounter
{
    private int _current;

    public int Current => Volatile.Read(ref _current);

    public async Task Track(Func<Task> connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        Interlocked.Increment(ref _current);
        try
        {
            await connection();
        }
        finally
        {
            Interlocked.Decrement(ref _current);
        }
    }
}
