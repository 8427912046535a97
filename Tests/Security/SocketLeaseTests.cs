using MitTts.Grains.Interfaces;
using MitTts.Tests.Grains;

namespace MitTts.Tests.Security;

/// <summary>The open sockets a user's rate-limit grain counts are leases: a gateway that stops renewing (it died) stops counting
/// within one lease, with nobody left to close its sockets. Tested by moving the silo's clock.</summary>
[Collection(FakeClockClusterCollection.Name)]
public sealed class SocketLeaseTests(FakeClockClusterFixture cluster)
{
    private static readonly TimeSpan s_lease = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_socket_no_longer_renewed_stops_counting_after_its_lease_and_a_renewed_one_does_not()
    {
        var user = cluster.Grains.GetGrain<IRateLimitGrain>(RateLimitKeys.User("lease-" + Guid.NewGuid().ToString("N")));
        Assert.True(await user.OpenSocket("on-a", 2, s_lease));
        Assert.True(await user.OpenSocket("on-b", 2, s_lease));
        Assert.True(await user.OpenSocket("on-a", 2, s_lease)); // the same socket twice is one
        Assert.False(await user.OpenSocket("third", 2, s_lease));

        // Gateway a renews; gateway b has died and does not.
        FakeClockClusterFixture.Clock.Advance(TimeSpan.FromSeconds(40));
        await user.RenewSockets(["on-a"], s_lease);
        Assert.False(await user.OpenSocket("third", 2, s_lease));

        FakeClockClusterFixture.Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.True(await user.OpenSocket("third", 2, s_lease));
        Assert.False(await user.OpenSocket("fourth", 2, s_lease));

    }

    [Fact]
    public async Task A_renewal_does_not_bring_back_a_socket_the_grain_does_not_count()
    {
        // A close can overtake the renewal that still named the socket.
        var user = cluster.Grains.GetGrain<IRateLimitGrain>(RateLimitKeys.User("lease-" + Guid.NewGuid().ToString("N")));
        await user.RenewSockets(["closed-meanwhile"], s_lease);
        Assert.True(await user.OpenSocket("only", 1, s_lease));
    }
}
