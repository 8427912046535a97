using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Security;

/// <summary>Tokens through the real gateway: how they are issued, refreshed and revoked, and every way a bad one is refused, on REST
/// and on the WebSocket (header, <c>?token=</c>, and <c>connect</c>'s <c>auth_token</c>).</summary>
[Collection(SecureGatewayCollection.Name)]
public sealed class AuthTests(SecureGatewayFixture gateway)
{
    private const string Secret = SecureGatewayFixture.Secret;
    private static readonly string[] TwoRoles = ["user", "admin"];

    public static TheoryData<string, string> BadTokens => new()
    {
        { "expired", Tokens.Expired(Secret) },
        { "tampered", Tokens.Tampered(Secret) },
        { "wrong secret", Tokens.Mint("another-secret-of-at-least-thirty-two-bytes") },
        { "alg none", Tokens.AlgNone() },
        { "RS256 with the caller's own key", Tokens.Rs256() },
        { "HS512 with the secret (only HS256 is taken)", Tokens.Mint(Secret, algorithm: SecurityAlgorithms.HmacSha512) },
        { "a refresh token", Tokens.Mint(Secret, extra: new Dictionary<string, object> { ["token_use"] = "refresh" }) },
        { "not a JWT", "hello" },
        { "no sub", Tokens.Mint(Secret, user: null) },
        { "an empty sub", Tokens.Mint(Secret, user: "") },
        { "a role that is none of ours", Tokens.Mint(Secret, role: "root") },
        { "two roles", Tokens.Mint(Secret, role: null, extra: new Dictionary<string, object> { ["role"] = TwoRoles }) },
        { "issued an hour from now", Tokens.Mint(Secret, claimedIssuedAt: DateTime.UtcNow.AddHours(1)) },
    };

    [Fact]
    public async Task Health_needs_no_token_and_everything_else_does()
    {
        Assert.Equal(HttpStatusCode.OK, (await gateway.Anonymous.GetAsync("/api/v1/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Anonymous.GetAsync("/health")).StatusCode);
        foreach (var (method, path) in new[] { ("GET", "/api/v1/voices"), ("GET", "/api/v1/status"), ("POST", "/api/v1/synthesize"), ("GET", "/api/v1/tasks/task_x"),
                     ("DELETE", "/api/v1/tasks/task_x"), ("GET", "/api/v1/audio/task_x.wav"), ("GET", "/audio/task_x.wav"), ("GET", "/openapi/v1.json"), ("GET", "/api/v1/sessions/s1"),
                     ("GET", "/voices"), ("GET", "/status"), ("POST", "/synthesize"), ("GET", "/tasks/task_x"), ("DELETE", "/tasks/task_x") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (method == "POST")
            {
                request.Content = JsonContent.Create(new { text = "hola" });
            }

            var response = await gateway.Anonymous.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path}: {response.StatusCode}");
            Assert.Equal("unauthorized", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }
    }

    [Fact]
    public async Task An_api_key_gets_a_token_pair_with_the_documented_claims()
    {
        var pair = await gateway.Login("alice-key");
        Assert.Equal("bearer", pair.GetProperty("token_type").GetString());
        Assert.Equal(1800, pair.GetProperty("expires_in").GetInt32());

        var access = new JsonWebToken(pair.GetProperty("access_token").GetString());
        Assert.Equal("HS256", access.Alg);
        Assert.Equal("alice", access.Subject);
        Assert.Equal("user", access.GetClaim("role").Value);
        Assert.False(string.IsNullOrEmpty(access.Id));
        Assert.Equal(TimeSpan.FromMinutes(30), access.ValidTo - access.IssuedAt);

        var refresh = new JsonWebToken(pair.GetProperty("refresh_token").GetString());
        Assert.Equal(TimeSpan.FromDays(7), refresh.ValidTo - refresh.IssuedAt);
        Assert.NotEqual(access.Id, refresh.Id);

        using var client = gateway.As(access.EncodedToken);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/voices")).StatusCode);
    }

    [Fact]
    public async Task A_wrong_api_key_is_refused()
    {
        foreach (var key in new[] { "alice-key ", "ALICE-KEY", "", "bob" })
        {
            var response = await gateway.Anonymous.PostAsJsonAsync("/api/v1/auth/token", new { api_key = key });
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("invalid_api_key", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        }

        var malformed = await gateway.Anonymous.PostAsync("/api/v1/auth/token", new StringContent("{\"api_key\":", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
    }

    [Fact]
    public async Task A_token_minted_by_any_jwt_library_with_the_secret_is_taken()
    {
        using var client = gateway.As(Tokens.Mint(Secret, user: "carol"));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/voices")).StatusCode);

        // Without a role it is a user's; issued a moment ahead of this clock (within the skew), it is taken too.
        using var plain = gateway.As(Tokens.Mint(Secret, user: "carol", role: null, claimedIssuedAt: DateTime.UtcNow.AddSeconds(10)));
        Assert.Equal(HttpStatusCode.OK, (await plain.GetAsync("/api/v1/voices")).StatusCode);
    }

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task A_bad_token_is_refused_on_rest(string what, string token)
    {
        using var client = gateway.As(token);
        var response = await client.GetAsync("/api/v1/voices");
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{what}: {response.StatusCode}");
        Assert.Equal("invalid_token", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task A_bad_token_closes_the_socket_with_4401_whichever_way_it_comes(string what, string token)
    {
        await using (var header = await ProtocolClient.Connect(gateway.BaseAddress, bearer: token))
        {
            await AssertClosedUnauthenticated(header, what + " (header)");
        }

        await using (var query = await ProtocolClient.Connect(gateway.BaseAddress, query: "token=" + Uri.EscapeDataString(token)))
        {
            await AssertClosedUnauthenticated(query, what + " (query)");
        }

        await using var connect = await ProtocolClient.Connect(gateway.BaseAddress);
        await connect.Send(new { type = "connect", auth_token = token });
        await AssertClosedUnauthenticated(connect, what + " (connect)");
    }

    [Fact]
    public async Task A_socket_without_a_token_must_connect_with_one_before_anything_else()
    {
        await using (var early = await ProtocolClient.Connect(gateway.BaseAddress))
        {
            await early.Send(new { type = "synthesize", text = "hola" });
            await AssertClosedUnauthenticated(early, "synthesize before connect");
        }

        var token = (await gateway.Login("alice-key")).GetProperty("access_token").GetString()!;
        foreach (var way in new[] { "connect", "connect as a header value", "header", "query" })
        {
            await using var client = way switch
            {
                "header" => await ProtocolClient.Connect(gateway.BaseAddress, bearer: token),
                "query" => await ProtocolClient.Connect(gateway.BaseAddress, query: "token=" + token),
                _ => await ProtocolClient.Connect(gateway.BaseAddress),
            };

            // The seed's connect shows "bearer_token": the token as an Authorization header carries it ("Bearer …") is taken too.
            var shown = way switch { "connect" => token, "connect as a header value" => "Bearer " + token, _ => null };
            await client.Send(new { type = "connect", auth_token = shown });
            Assert.Equal("connected", (await client.Receive())!.Type);
            await client.Send(new { type = "synthesize", text = "hola", format = "pcm" });
            var messages = await client.ReceiveUntil(m => m.Type == "status" && m.Str("status") is "completed" or "error");
            Assert.Equal("completed", messages[^1].Str("status"));
            Assert.Contains(messages, m => m.IsAudio);
        }
    }

    [Fact]
    public async Task A_refresh_token_is_used_once_and_a_revoked_one_not_at_all()
    {
        var first = await gateway.Login("bob-key");
        var refreshToken = first.GetProperty("refresh_token").GetString();

        var renewed = await gateway.Anonymous.PostAsJsonAsync("/api/v1/auth/refresh", new { refresh_token = refreshToken });
        Assert.Equal(HttpStatusCode.OK, renewed.StatusCode);
        var second = await renewed.Content.ReadFromJsonAsync<JsonElement>();
        using (var client = gateway.As(second.GetProperty("access_token").GetString()!))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/voices")).StatusCode);
        }

        var reused = await gateway.Anonymous.PostAsJsonAsync("/api/v1/auth/refresh", new { refresh_token = refreshToken });
        Assert.Equal(HttpStatusCode.Unauthorized, reused.StatusCode);
        Assert.Equal("invalid_refresh_token", (await reused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());

        // An access token is not a refresh token.
        var access = await gateway.Anonymous.PostAsJsonAsync("/api/v1/auth/refresh", new { refresh_token = second.GetProperty("access_token").GetString() });
        Assert.Equal(HttpStatusCode.Unauthorized, access.StatusCode);

        var revoke = await gateway.Anonymous.PostAsJsonAsync("/api/v1/auth/revoke", new { refresh_token = second.GetProperty("refresh_token").GetString() });
        Assert.True((await revoke.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("revoked").GetBoolean());
        var afterRevoke = await gateway.Anonymous.PostAsJsonAsync("/api/v1/auth/refresh", new { refresh_token = second.GetProperty("refresh_token").GetString() });
        Assert.Equal(HttpStatusCode.Unauthorized, afterRevoke.StatusCode);

        // A refresh token minted outside with the secret was never issued: refused too.
        var forged = Tokens.Mint(Secret, user: "bob", lifetime: TimeSpan.FromDays(7), extra: new Dictionary<string, object> { ["token_use"] = "refresh" });
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Anonymous.PostAsJsonAsync("/api/v1/auth/refresh", new { refresh_token = forged })).StatusCode);
    }

    internal static async Task AssertClosedUnauthenticated(ProtocolClient client, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (await client.Receive(deadline - DateTime.UtcNow) is { } message)
        {
            Assert.Fail($"{what}: got {message} instead of a close");
        }

        Assert.True((int?)client.CloseStatus == 4401, $"{what}: closed with {client.CloseStatus}");
    }

    [Fact]
    public async Task The_openapi_document_names_the_bearer_scheme_and_asks_for_it_on_all_but_the_open_endpoints()
    {
        using var client = gateway.As(Tokens.Mint(Secret, user: "dora"));
        var document = await client.GetFromJsonAsync<System.Text.Json.JsonElement>("/openapi/v1.json");

        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer");
        Assert.Equal(("http", "bearer"), (scheme.GetProperty("type").GetString(), scheme.GetProperty("scheme").GetString()));
        var paths = document.GetProperty("paths");
        foreach (var (path, method) in new[] { ("/api/v1/synthesize", "post"), ("/api/v1/tasks/{task_id}", "get"), ("/api/v1/voices", "get"), ("/api/v1/config", "put") })
        {
            var operation = paths.GetProperty(path).GetProperty(method);
            var requirement = Assert.Single(operation.GetProperty("security").EnumerateArray());
            Assert.Equal(["bearer"], requirement.EnumerateObject().Select(p => p.Name));
            Assert.True(operation.GetProperty("responses").TryGetProperty("401", out _), $"{method} {path} does not say it answers 401");
        }

        foreach (var (path, method) in new[] { ("/api/v1/health", "get"), ("/api/v1/ready", "get"), ("/api/v1/auth/token", "post") })
        {
            Assert.False(paths.GetProperty(path).GetProperty(method).TryGetProperty("security", out _), $"{method} {path} is open to all");
        }
    }
}
