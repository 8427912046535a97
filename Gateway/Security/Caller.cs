using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;

namespace MitTts.Gateway.Security;

/// <summary>Who is asking: the token's user and role; with auth off, everyone (one anonymous user who sees everything); with auth on and
/// no valid token, nobody (who sees nothing). <paramref name="IsPremium"/>: a <c>premium</c> token (HIGH unless it asks otherwise).</summary>
public sealed record Caller(string? UserId, bool IsAdmin, bool IsPremium = false)
{
    /// <summary>Auth off: no owner is recorded and nothing is hidden.</summary>
    public static Caller Anonymous { get; } = new(null, IsAdmin: true);

    /// <summary>Auth on and no valid token (an endpoint open to all: health, readiness, the token endpoints): owns and sees nothing.</summary>
    public static Caller Nobody { get; } = new(null, IsAdmin: false);

    /// <summary>The caller a validated token stands for; <see cref="Nobody"/> for a principal that is not one (or has no <c>sub</c>).</summary>
    public static Caller From(ClaimsPrincipal? principal) => FromToken(principal) ?? Nobody;

    /// <summary>The request's caller: its token's user, else <see cref="Anonymous"/> with auth off and <see cref="Nobody"/> with it on.</summary>
    public static Caller From(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return FromToken(http.User) ?? (http.RequestServices.GetRequiredService<AuthOptions>().Enabled ? Nobody : Anonymous);
    }

    /// <summary>Whether this caller may see what <paramref name="owner"/> owns: its owner, an admin, or anyone when auth is off.</summary>
    public bool CanSee(string? owner) => IsAdmin || (UserId is not null && string.Equals(owner, UserId, StringComparison.Ordinal));

    private static Caller? FromToken(ClaimsPrincipal? principal)
    {
        var identity = principal?.Identity as ClaimsIdentity;
        if (identity is not { IsAuthenticated: true } || identity.FindFirst(JwtRegisteredClaimNames.Sub)?.Value is not { Length: > 0 } user)
        {
            return null;
        }

        var role = identity.FindFirst(TokenService.RoleClaim)?.Value;
        return new Caller(user, role == Roles.Admin, role == Roles.Premium);
    }
}
