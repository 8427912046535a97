using MitTts.Tests.Api;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Security;

/// <summary>With auth on, a socket that showed no token at the upgrade may send one thing, <c>connect</c> with a valid
/// <c>auth_token</c>, and has <c>websocket:auth_timeout_seconds</c> to do it; anything else closes it with 4401.</summary>
[Collection(SecureGatewayCollection.Name)]
public sealed class SocketAuthTests(SecureGatewayFixture gateway)
{
    public static TheoryData<string, string> BeforeAuth => new()
    {
        { "not JSON", "hello" },
        { "truncated JSON", "{\"type\":\"conn" },
        { "an unknown type", "{\"type\":\"launch\"}" },
        { "a ping", "{\"type\":\"ping\"}" },
        { "connect without a token", "{\"type\":\"connect\"}" },
        { "connect with a null token", "{\"type\":\"connect\",\"auth_token\":null}" },
    };

    [Theory]
    [MemberData(nameof(BeforeAuth))]
    public async Task Anything_but_connect_with_a_token_closes_an_unauthenticated_socket_with_4401(string what, string message)
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.SendText(message);
        await AuthTests.AssertClosedUnauthenticated(client, what);
    }

    [Fact]
    public async Task After_an_upgrade_with_a_token_a_connect_token_is_optional_but_one_shown_must_be_valid_and_the_same_users()
    {
        var alice = Tokens.Mint(SecureGatewayFixture.Secret, user: "alice");
        foreach (var (what, shown, accepted) in new (string, string?, bool)[]
        {
            ("no connect token", null, true),
            ("the same user's token", Tokens.Mint(SecureGatewayFixture.Secret, user: "alice"), true),
            ("an expired token", Tokens.Expired(SecureGatewayFixture.Secret), false),
            ("another user's token", Tokens.Mint(SecureGatewayFixture.Secret, user: "bob"), false),
        })
        {
            await using var client = await ProtocolClient.Connect(gateway.BaseAddress, bearer: alice);
            await client.Send(new { type = "connect", auth_token = shown });
            if (accepted)
            {
                Assert.True((await client.Receive())!.Type == "connected", what);
            }
            else
            {
                await AuthTests.AssertClosedUnauthenticated(client, what);
            }
        }
    }

    [Fact]
    public async Task A_binary_frame_before_auth_closes_with_4401()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await client.Socket.SendAsync(new ArraySegment<byte>([0, 1, 2, 3, 255]), System.Net.WebSockets.WebSocketMessageType.Binary, true, timeout.Token);
        await AuthTests.AssertClosedUnauthenticated(client, "a binary frame");
    }

    [Fact]
    public async Task A_socket_that_never_authenticates_is_closed_with_4401_at_the_deadline()
    {
        await using var strict = await RunningGateway.Start(SecureGatewayFixture.Settings("--websocket:auth_timeout_seconds=1"));
        var token = Tokens.Mint(SecureGatewayFixture.Secret, user: "alice");

        // Opened first, so its deadline is past by the time the silent one's is: authenticated in time, it stays.
        await using var authenticated = await ProtocolClient.Connect(strict.BaseAddress);
        await authenticated.Send(new { type = "connect", auth_token = token });
        Assert.Equal("connected", (await authenticated.Receive())!.Type);

        await using var silent = await ProtocolClient.Connect(strict.BaseAddress);
        await AuthTests.AssertClosedUnauthenticated(silent, "a silent socket");

        await authenticated.Send(new { type = "ping" });
        Assert.Equal("pong", (await authenticated.Receive())!.Type);
    }
}
