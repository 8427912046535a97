using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.JsonWebTokens;
using MitTts.Gateway.OpenAi;

namespace MitTts.Gateway.Security;

/// <summary>OpenAI clients send their API key as the bearer token: on the OpenAI-compatible paths only, a configured API key is taken
/// where an access token is expected (compared in constant time by <see cref="TokenService.FindApiKey"/>).</summary>
public static class ApiKeyBearer
{
    /// <summary>The authentication type of an identity that showed an API key.</summary>
    public const string AuthenticationType = "ApiKey";

    /// <summary>Where a refused guess leaves how long its address must wait (<see cref="HttpContext.Items"/>), for the challenge to answer
    /// 429 rather than 401.</summary>
    public const string RetryAfterItem = "mittts.api_key_retry_after";

    /// <summary>Signs the request in as the key's user when it is an OpenAI path and its bearer is a configured API key; leaves an
    /// access token (a JWT) to the access-token check; fails any other bearer, a wrong key, spending the address's guessing budget
    /// (<see cref="ApiKeyGuesses"/>).</summary>
    public static async Task TryAuthenticate(MessageReceivedContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!OpenAiPaths.Matches(context.Request.Path)
            || context.Request.Headers.Authorization is not [{ } header]
            || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var bearer = header["Bearer ".Length..].Trim();
        if (bearer.AsSpan().Count('.') == 2)
        {
            return; // an access token: forging one needs the secret, not a guess
        }

        var http = context.HttpContext;
        var guesses = http.RequestServices.GetRequiredService<ApiKeyGuesses>();
        var address = http.Connection.RemoteIpAddress;
        if (guesses.Locked(address) is { } locked)
        {
            http.Items[RetryAfterItem] = locked;
            context.Fail("Too many wrong API keys from this address.");
            return;
        }

        var tokens = http.RequestServices.GetRequiredService<TokenService>();
        if (tokens.FindApiKey(bearer) is not var (user, role))
        {
            if (await guesses.Failed(address, http.RequestAborted) is { } wait)
            {
                http.Items[RetryAfterItem] = wait;
            }

            context.Fail("Not a configured API key.");
            return;
        }

        var identity = new ClaimsIdentity(
            [new Claim(JwtRegisteredClaimNames.Sub, user), new Claim(TokenService.RoleClaim, role)],
            AuthenticationType,
            JwtRegisteredClaimNames.Sub,
            TokenService.RoleClaim);
        context.Principal = new ClaimsPrincipal(identity);
        context.Success();
    }
}
