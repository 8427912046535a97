using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Security;

/// <summary>What must hold across the gateways of a real cluster beyond budgets: the cap of open sockets, refresh-token use and
/// revocation; and what nginx in front of them must not write down.</summary>
[Collection(SecureClusterCollection.Name)]
public sealed class ClusterSecurityTests(SecureClusterFixture cluster)
{
    [Fact]
    public async Task The_cap_of_open_sockets_holds_across_two_gateways()
    {
        await cluster.EnsureHealthy();
        var token = Tokens.Mint(SecureGatewayFixture.Secret, user: "erin-" + Guid.NewGuid().ToString("N"));

        await using var onA = await ProtocolClient.Connect(Address("gateway-a"), bearer: token);
        await using var onB = await ProtocolClient.Connect(Address("gateway-b"), bearer: token);
        await using var third = await ProtocolClient.Connect(Address("gateway-a"), bearer: token);
        Assert.Equal("too_many_sockets", (await third.Receive())!.Str("code"));

        // The two counted sockets still serve.
        foreach (var client in new[] { onA, onB })
        {
            await client.Send(new { type = "connect" });
            Assert.Equal("connected", (await client.Receive())!.Type);
        }
    }

    private Uri Address(string gateway)
    {
        using var client = cluster.Gateway(gateway);
        return client.BaseAddress!;
    }
}
