using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;

namespace MitTts.Gateway.Security;

/// <summary>Who is asking: the token's user and role, or, with auth off, everyone (one anonymous user who sees everything).</summary>
public sealed record Caller(string? UserId, bool IsAdmin)
{
    /// <summary>Auth off: no owner is recorded and nothing is hidden.</summary>
    public static Caller Anonymous { get; } = new(null, IsAdmin: true);

    public static Caller From(ClaimsPrincipal? principal)
    {
        var identity = principal?.Identity as ClaimsIdentity;
        if (identity is not { IsAuthenticated: true } || identity.FindFirst(JwtRegisteredClaimNames.Sub)?.Value is not { Length: > 0 } user)
        {
            return Anonymous;
        }

        return new Caller(user, identity.FindFirst(TokenService.RoleClaim)?.Value == Roles.Admin);
    }

    public static Caller From(HttpContext http) => From(http.User);

    /// <summary>Whether this caller may see what <paramref name="owner"/> owns: its owner, an admin, or anyone when auth is off.</summary>
    public bool CanSee(string? owner) => IsAdmin || string.Equals(owner, UserId, StringComparison.Ordinal);
}
