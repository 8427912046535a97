using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MitTts.Tests.Api;

namespace MitTts.Tests.Security;

/// <summary>A real gateway with auth on: a secret, and API keys for alice and bob (users) and root (admin).</summary>
public sealed class SecureGatewayFixture : IAsyncLifetime
{
    public const string Secret = "test-secret-of-at-least-thirty-two-bytes-and-long-enough-for-hs512!";

    private RunningGateway? _gateway;

    public Uri BaseAddress => _gateway!.BaseAddress;

    /// <summary>A client without a token.</summary>
    public HttpClient Anonymous => _gateway!.Client;

    public static string[] Settings(params string[] more) =>
    [
        $"--security:jwt_secret={Secret}",
        $"--auth:api_keys:0:user=alice", $"--auth:api_keys:0:sha256={Sha256("alice-key")}",
        $"--auth:api_keys:1:user=bob", $"--auth:api_keys:1:sha256={Sha256("bob-key")}",
        $"--auth:api_keys:2:user=root", "--auth:api_keys:2:role=admin", $"--auth:api_keys:2:sha256={Sha256("root-key")}",
        .. more,
    ];

    public static string Sha256(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public async Task InitializeAsync() => _gateway = await RunningGateway.Start(Settings());

    /// <summary>The pair <c>/auth/token</c> gives for <paramref name="apiKey"/>.</summary>
    public Task<JsonElement> Login(string apiKey) => Login(Anonymous, apiKey);

    public static async Task<JsonElement> Login(HttpClient client, string apiKey)
    {
        var response = await client.PostAsJsonAsync("/api/v1/auth/token", new { api_key = apiKey });
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>A client whose requests carry <paramref name="accessToken"/>.</summary>
    public HttpClient As(string accessToken) => WithToken(BaseAddress, accessToken);

    public static HttpClient WithToken(Uri baseAddress, string accessToken)
    {
        var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return client;
    }

    /// <summary>A client logged in with <paramref name="apiKey"/>.</summary>
    public async Task<HttpClient> LoggedIn(string apiKey) => As((await Login(apiKey)).GetProperty("access_token").GetString()!);

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SecureGatewayCollection : ICollectionFixture<SecureGatewayFixture>
{
    public const string Name = "secure gateway";
}
