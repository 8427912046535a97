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

    [Fact]
    public async Task A_refresh_token_used_or_revoked_on_one_gateway_is_refused_on_the_other()
    {
        await cluster.EnsureHealthy();
        using var a = new HttpClient { BaseAddress = Address("gateway-a"), Timeout = TimeSpan.FromSeconds(60) };
        using var b = new HttpClient { BaseAddress = Address("gateway-b"), Timeout = TimeSpan.FromSeconds(60) };

        var first = (await SecureGatewayFixture.Login(a, "alice-key")).GetProperty("refresh_token").GetString();
        var renewed = await b.PostAsJsonAsync("/api/v1/auth/refresh", new { refresh_token = first });
        Assert.Equal(HttpStatusCode.OK, renewed.StatusCode);
        var second = (await renewed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refresh_token").GetString();

        var reused = await a.PostAsJsonAsync("/api/v1/auth/refresh", new { refresh_token = first });
        Assert.Equal(HttpStatusCode.Unauthorized, reused.StatusCode);
        Assert.Equal("invalid_refresh_token", (await reused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());

        var revoked = await b.PostAsJsonAsync("/api/v1/auth/revoke", new { refresh_token = second });
        Assert.True((await revoked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("revoked").GetBoolean());
        Assert.Equal(HttpStatusCode.Unauthorized, (await a.PostAsJsonAsync("/api/v1/auth/refresh", new { refresh_token = second })).StatusCode);
    }

    [Fact]
    public async Task A_token_in_the_websocket_query_is_not_in_nginx_s_access_log()
    {
        await cluster.EnsureHealthy();
        var token = Tokens.Mint(SecureGatewayFixture.Secret, user: "frank-" + Guid.NewGuid().ToString("N"));
        await using (var client = await ProtocolClient.Connect(cluster.Balancer.BaseAddress!, query: "token=" + token))
        {
            await client.Send(new { type = "connect" });
            Assert.Equal("connected", (await client.Receive())!.Type);
        }

        // nginx writes a WebSocket's line when it ends.
        var accessLog = Path.Combine(cluster.StateDirectory, "nginx", "logs", "access.log");
        string Logs() => cluster.Process("nginx").ReadLog() + (File.Exists(accessLog) ? File.ReadAllText(accessLog) : string.Empty);
        await cluster.WaitFor(() => Task.FromResult(Logs().Contains("GET /ws", StringComparison.Ordinal)), "nginx's line for the socket", TimeSpan.FromSeconds(20));
        Assert.DoesNotContain(token, Logs(), StringComparison.Ordinal);
        Assert.DoesNotContain(token.Split('.')[2], Logs(), StringComparison.Ordinal);
    }

    private Uri Address(string gateway)
    {
        using var client = cluster.Gateway(gateway);
        return client.BaseAddress!;
    }
}
