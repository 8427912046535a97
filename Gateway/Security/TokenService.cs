using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Security;

/// <summary>An access token and the refresh token that renews it, as <c>/auth/token</c> and <c>/auth/refresh</c> answer.</summary>
public sealed record TokenPair(string AccessToken, string RefreshToken, string TokenType, int ExpiresIn);

/// <summary>Mints and checks MitTts's HS256 tokens: access tokens any JWT library holding the secret could mint (<c>sub</c>, <c>role</c>,
/// <c>jti</c>, <c>iat</c>, <c>exp</c>), and single-use refresh tokens (<c>token_use: refresh</c>) recorded per user in the cluster.</summary>
public sealed class TokenService
{
    public const string RoleClaim = "role";
    public const string TokenUseClaim = "token_use";
    public const string RefreshUse = "refresh";

    private readonly AuthOptions _options;
    private readonly IGrainFactory _grains;
    private readonly TimeProvider _time;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly SigningCredentials _signing;
    private readonly (string User, string Role, byte[] Hash)[] _keys;

    public TokenService(AuthOptions options, IGrainFactory grains, TimeProvider time)
    {
        _options = options;
        _grains = grains;
        _time = time;
        // Auth off: a random key, so that no token at all validates.
        Key = new SymmetricSecurityKey(options.Enabled ? Encoding.UTF8.GetBytes(options.JwtSecret!) : RandomNumberGenerator.GetBytes(32));
        _signing = new SigningCredentials(Key, SecurityAlgorithms.HmacSha256);
        _keys = [.. options.ApiKeys.Select(k => (k.User!, k.Role, Convert.FromHexString(k.Sha256!)))];
        Parameters = ValidationParameters(Key, options);
    }

    public SymmetricSecurityKey Key { get; }

    /// <summary>HS256 only (no <c>none</c>, no RS/HS confusion), signature, lifetime (30 s skew), and issuer/audience when configured.</summary>
    public TokenValidationParameters Parameters { get; }

    public static TokenValidationParameters ValidationParameters(SecurityKey key, AuthOptions options) => new()
    {
        IssuerSigningKey = key,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        ValidateIssuerSigningKey = true,
        RequireSignedTokens = true,
        RequireExpirationTime = true,
        ValidateLifetime = true,
        ClockSkew = TimeSpan.FromSeconds(30),
        ValidateIssuer = options.Issuer is { Length: > 0 },
        ValidIssuer = options.Issuer,
        ValidateAudience = options.Audience is { Length: > 0 },
        ValidAudience = options.Audience,
        NameClaimType = JwtRegisteredClaimNames.Sub,
        RoleClaimType = RoleClaim,
    };

    /// <summary>The user and role an API key stands for; null for an unknown key (compared in constant time).</summary>
    public (string User, string Role)? FindApiKey(string? apiKey)
    {
        if (string.IsNullOrEmpty(apiKey))
        {
            return null;
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(apiKey));
        (string User, string Role)? found = null;
        foreach (var (user, role, expected) in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, expected))
            {
                found = (user, role);
            }
        }

        return found;
    }

    /// <summary>A new access token and a new refresh token (recorded as live) for <paramref name="user"/>.</summary>
    public async Task<TokenPair> Issue(string user, string role)
    {
        var now = _time.GetUtcNow();
        var accessLifetime = TimeSpan.FromMinutes(_options.AccessTokenMinutes);
        var refreshExpires = now + TimeSpan.FromDays(_options.RefreshTokenDays);
        var refreshId = NewId();
        await _grains.GetGrain<IRefreshTokenGrain>(user).Issue(refreshId, refreshExpires);
        var access = Mint(user, role, NewId(), now, now + accessLifetime, refresh: false);
        var refresh = Mint(user, role, refreshId, now, refreshExpires, refresh: true);
        return new TokenPair(access, refresh, "bearer", (int)accessLifetime.TotalSeconds);
    }

    /// <summary>A new pair for a live refresh token, which is used up; null for any token that is not one (reuse included), and for a
    /// user whose API key is no longer configured. The new pair carries the role the user's key has now.</summary>
    public async Task<TokenPair?> Refresh(string? refreshToken)
    {
        if (await ReadRefresh(refreshToken) is not { } token || !await _grains.GetGrain<IRefreshTokenGrain>(token.User).Redeem(token.Id)
            || ConfiguredRole(token.User, token.Role) is not { } role)
        {
            return null;
        }

        return await Issue(token.User, role);
    }

    /// <summary>The role <paramref name="user"/>'s configured keys give: <paramref name="wanted"/> when one of them has it, else the first
    /// one's; null when the user has no key any more (removing a key ends its sessions at their next refresh).</summary>
    private string? ConfiguredRole(string user, string wanted)
    {
        string? role = null;
        foreach (var key in _keys)
        {
            if (string.Equals(key.User, user, StringComparison.Ordinal))
            {
                if (key.Role == wanted)
                {
                    return wanted;
                }

                role ??= key.Role;
            }
        }

        return role;
    }

    /// <summary>Revokes a refresh token; false when it was not a live one.</summary>
    public async Task<bool> Revoke(string? refreshToken) =>
        await ReadRefresh(refreshToken) is { } token && await _grains.GetGrain<IRefreshTokenGrain>(token.User).Revoke(token.Id);

    /// <summary>The identity an access token carries, or null when it is not a valid access token.</summary>
    public async Task<ClaimsPrincipal?> ValidateAccess(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }

        var result = await _handler.ValidateTokenAsync(token, Parameters);
        return result.IsValid && AccessProblem(result.ClaimsIdentity) is null ? new ClaimsPrincipal(result.ClaimsIdentity) : null;
    }

    /// <summary>Why a token whose signature and lifetime are good is still no access token, or null when it is one: a refresh token,
    /// no <c>sub</c>, a <c>role</c> that is not one of <see cref="Roles"/> (or several), or an <c>iat</c> later than now (past the skew).</summary>
    public string? AccessProblem(ClaimsIdentity? identity)
    {
        if (identity is null)
        {
            return "The token carries no claims.";
        }

        if (IsRefresh(identity))
        {
            return "A refresh token is not an access token.";
        }

        if (identity.FindFirst(JwtRegisteredClaimNames.Sub)?.Value is not { Length: > 0 } user || string.IsNullOrWhiteSpace(user))
        {
            return "The token names no user (sub).";
        }

        var roles = identity.FindAll(RoleClaim).ToList();
        if (roles.Count > 1 || (roles.Count == 1 && !Roles.IsKnown(roles[0].Value)))
        {
            return $"The token's role must be {Roles.Listed}.";
        }

        if (identity.FindFirst(JwtRegisteredClaimNames.Iat)?.Value is { } iat
            && (!long.TryParse(iat, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var issued)
                || DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(issued, 0, 253402300799)) > _time.GetUtcNow() + Parameters.ClockSkew))
        {
            return "The token says it was issued in the future (iat).";
        }

        return null;
    }

    /// <summary>A refresh token must never pass as an access token.</summary>
    public static bool IsRefresh(ClaimsIdentity? identity) => identity?.FindFirst(TokenUseClaim)?.Value == RefreshUse;

    private async Task<(string User, string Role, string Id)?> ReadRefresh(string? refreshToken)
    {
        if (string.IsNullOrEmpty(refreshToken))
        {
            return null;
        }

        var result = await _handler.ValidateTokenAsync(refreshToken, Parameters);
        if (!result.IsValid || !IsRefresh(result.ClaimsIdentity))
        {
            return null;
        }

        var identity = result.ClaimsIdentity;
        return identity.FindFirst(JwtRegisteredClaimNames.Sub)?.Value is { Length: > 0 } user && identity.FindFirst(JwtRegisteredClaimNames.Jti)?.Value is { Length: > 0 } id
            ? (user, identity.FindFirst(RoleClaim)?.Value ?? Roles.User, id)
            : null;
    }

    private string Mint(string user, string role, string id, DateTimeOffset now, DateTimeOffset expires, bool refresh)
    {
        var claims = new Dictionary<string, object>
        {
            [JwtRegisteredClaimNames.Sub] = user,
            [JwtRegisteredClaimNames.Jti] = id,
            [RoleClaim] = role,
        };
        if (refresh)
        {
            claims[TokenUseClaim] = RefreshUse;
        }

        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            Issuer = _options.Issuer,
            Audience = _options.Audience,
            SigningCredentials = _signing,
        });
    }

    private static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}
