using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace MitTts.Tests.Security;

/// <summary>Tokens minted the way any JWT library would, good and bad, to throw at the server.</summary>
public static class Tokens
{
    private static readonly JsonWebTokenHandler s_handler = new();

    /// <summary>A token signed with <paramref name="secret"/>: <c>sub</c> <paramref name="user"/> and <c>role</c> <paramref name="role"/>
    /// (none when null), valid from <paramref name="issuedAt"/> (now) for <paramref name="lifetime"/> (30 minutes), its <c>iat</c>
    /// <paramref name="claimedIssuedAt"/> when given, plus <paramref name="extra"/> claims, signed with <paramref name="algorithm"/>.</summary>
    public static string Mint(string secret, string? user = "mallory", string? role = "user", TimeSpan? lifetime = null, DateTime? issuedAt = null,
        string algorithm = SecurityAlgorithms.HmacSha256, IDictionary<string, object>? extra = null, DateTime? claimedIssuedAt = null)
    {
        var now = issuedAt ?? DateTime.UtcNow;
        var claims = new Dictionary<string, object> { ["jti"] = Guid.NewGuid().ToString("N") };
        if (user is not null)
        {
            claims["sub"] = user;
        }

        if (role is not null)
        {
            claims["role"] = role;
        }

        foreach (var (key, value) in extra ?? new Dictionary<string, object>())
        {
            claims[key] = value;
        }

        return s_handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            IssuedAt = claimedIssuedAt ?? now,
            NotBefore = now,
            Expires = now + (lifetime ?? TimeSpan.FromMinutes(30)),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), algorithm),
        });
    }

    /// <summary>Expired an hour ago (well past any clock skew).</summary>
    public static string Expired(string secret) => Mint(secret, issuedAt: DateTime.UtcNow.AddHours(-2), lifetime: TimeSpan.FromHours(1));

    /// <summary>A valid token with one character of its payload changed (so the signature no longer matches).</summary>
    public static string Tampered(string secret)
    {
        var parts = Mint(secret).Split('.');
        var payload = parts[1].ToCharArray();
        var i = payload.Length / 2;
        payload[i] = payload[i] == 'A' ? 'B' : 'A';
        return $"{parts[0]}.{new string(payload)}.{parts[2]}";
    }

    /// <summary>An unsigned token (<c>alg: none</c>) claiming to be the admin.</summary>
    public static string AlgNone()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = Base64Url("{\"alg\":\"none\",\"typ\":\"JWT\"}");
        var payload = Base64Url($"{{\"sub\":\"root\",\"role\":\"admin\",\"jti\":\"x\",\"iat\":{now},\"nbf\":{now},\"exp\":{now + 600}}}");
        return $"{header}.{payload}.";
    }

    /// <summary>Signed RS256 with a key of the attacker's own: a server that trusted the header's algorithm would take it.</summary>
    public static string Rs256()
    {
        using var rsa = RSA.Create(2048);
        var now = DateTime.UtcNow;
        return s_handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { ["sub"] = "root", ["role"] = "admin", ["jti"] = "y" },
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(10),
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(rsa.ExportParameters(true)), SecurityAlgorithms.RsaSha256),
        });
    }

    private static string Base64Url(string json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json));
}
