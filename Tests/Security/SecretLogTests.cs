using System.Net;
using System.Net.Http.Headers;
using MitTts.Tests.Observability;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Security;

/// <summary>What the gateway writes to its log (JSON file, as operators run it): never a token, however it came; and the warning that
/// auth is off when it is.</summary>
public sealed class SecretLogTests
{
    [Fact]
    public async Task No_token_reaches_the_log_whichever_way_it_came()
    {
        await using var server = await GatewayProcess.Start(new Dictionary<string, string>
        {
            ["MIT_TTS_JWT_SECRET"] = SecureGatewayFixture.Secret,
            ["MIT_TTS_LOG_LEVEL"] = "DEBUG",
        });
        string[] tokens = [Tokens.Mint(SecureGatewayFixture.Secret, user: "alice"), Tokens.Mint(SecureGatewayFixture.Secret, user: "bob"),
            Tokens.Mint(SecureGatewayFixture.Secret, user: "carol"), Tokens.Tampered(SecureGatewayFixture.Secret)];

        await using (var query = await ProtocolClient.Connect(server.Address, query: "token=" + tokens[0]))
        {
            await query.Send(new { type = "connect" });
            Assert.Equal("connected", (await query.Receive())!.Type);
        }

        await using (var header = await ProtocolClient.Connect(server.Address, bearer: tokens[1]))
        {
            await header.Send(new { type = "connect" });
            Assert.Equal("connected", (await header.Receive())!.Type);
        }

        using var rest = new HttpRequestMessage(HttpMethod.Get, "/api/v1/voices");
        rest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens[2]);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.SendAsync(rest)).StatusCode);
        using var tampered = new HttpRequestMessage(HttpMethod.Get, "/api/v1/status");
        tampered.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens[3]);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.SendAsync(tampered)).StatusCode);

        // The last request's line is written once its answer has gone out.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!server.LogLines().Any(line => line.Contains("/api/v1/status", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the request line never came");
            await Task.Delay(100);
        }

        var log = string.Join('\n', server.LogLines()) + server.Console();
        Assert.Contains("/ws", log, StringComparison.Ordinal);
        foreach (var token in tokens)
        {
            Assert.DoesNotContain(token.Split('.')[1], log, StringComparison.Ordinal);
            Assert.DoesNotContain(token.Split('.')[2], log, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_gateway_without_a_secret_says_auth_is_off_in_its_log()
    {
        await using var server = await GatewayProcess.Start();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!server.LogLines().Any(line => line.Contains("AUTH IS OFF", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "no AUTH IS OFF line in the log");
            await Task.Delay(100);
        }

        Assert.Contains(server.LogLines(), line => line.Contains("AUTH IS OFF", StringComparison.Ordinal) && line.Contains("Warning", StringComparison.Ordinal));
    }
}
