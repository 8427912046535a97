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

    /// <summary>Signs the request in as the key's user when it is an OpenAI path and its bearer is a configured API key; otherwise
    /// leaves it to the access-token check.</summary>
    public static void TryAuthenticate(MessageReceivedContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!OpenAiPaths.Matches(context.Request.Path)
            || context.Request.Headers.Authorization is not [{ } header]
            || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var tokens = context.HttpContext.RequestServices.GetRequiredService<TokenService>();
        if (tokens.FindApiKey(header["Bearer ".Length..].Trim()) is not var (user, role))
        {
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
