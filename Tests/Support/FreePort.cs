using System.Net;
using System.Net.Sockets;

namespace MitTts.Tests.Support;

public static class FreePort
{
    // Below Linux's ephemeral range (32768-60999): a port the kernel handed out for "any free port" is also what it hands the next
    // outgoing connection, so a silo binding it a moment later could find a client socket there. Each port is given once per run.
    private const int First = 20000;
    private const int Count = 10000;
    private static int s_next = Random.Shared.Next(Count);

    /// <summary>A loopback TCP port nobody listens on right now, and that no other test of this run was given.</summary>
    public static int Next()
    {
        for (var attempt = 0; attempt < Count; attempt++)
        {
            var port = First + (Interlocked.Increment(ref s_next) % Count);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken by something else on this machine: the next one.
            }
        }

        throw new InvalidOperationException($"No free loopback port between {First} and {First + Count - 1}.");
    }
}
