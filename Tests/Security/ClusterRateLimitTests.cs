using System.Net;
using System.Net.Http.Json;

namespace MitTts.Tests.Security;

/// <summary>One user's budget is one budget in the cluster, whichever gateway (or nginx) a request reaches.</summary>
[Collection(SecureClusterCollection.Name)]
public sealed class ClusterRateLimitTests(SecureClusterFixture cluster)
{
    [Fact]
    public async Task Two_gateways_share_one_budget_per_user()
    {
        await cluster.EnsureHealthy();
        var token = Tokens.Mint(SecureGatewayFixture.Secret, user: "dave-" + Guid.NewGuid().ToString("N"));
        using var a = SecureGatewayFixture.WithToken(GatewayAddress("gateway-a"), token);
        using var b = SecureGatewayFixture.WithToken(GatewayAddress("gateway-b"), token);

        // Alternating gateways: a budget per gateway would let twice the limit through.
        var accepted = 0;
        for (var i = 0; i < SecureClusterFixture.SynthesizePerMinute * 2; i++)
        {
            var response = await (i % 2 == 0 ? a : b).PostAsJsonAsync("/api/v1/synthesize", new { text = "hola" });
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"request {i}: {response.StatusCode}");
            accepted += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
        }

        // A permit comes back a minute after it was spent: exactly the budget passes, however long the requests take.
        Assert.Equal(SecureClusterFixture.SynthesizePerMinute, accepted);
    }

    private Uri GatewayAddress(string name)
    {
        using var client = cluster.Gateway(name);
        return client.BaseAddress!;
    }
}
