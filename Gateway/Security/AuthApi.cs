using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using MitTts.Gateway.Apis;

namespace MitTts.Gateway.Security;

public sealed record TokenBody(string? ApiKey);

public sealed record RefreshBody(string? RefreshToken);

public sealed record RevokeResponse(bool Revoked);

/// <summary><c>POST /auth/token</c> (an API key for a token pair), <c>/auth/refresh</c> (a refresh token, used up, for a new pair) and
/// <c>/auth/revoke</c>. Open to anyone: they are how a caller gets a token.</summary>
public static class AuthApi
{
    public static RouteGroupBuilder MapAuthApiV1(this RouteGroupBuilder api)
    {
        var auth = api.MapGroup("/auth").AllowAnonymous().WithTags("Auth");
        auth.MapPost("/token", Token)
            .RequireRateLimiting(SecuritySetup.AuthLimit)
            .WithName("IssueToken")
            .WithSummary("Exchange an API key for an access token (30 minutes) and a single-use refresh token (7 days).")
            .Produces<TokenPair>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        auth.MapPost("/refresh", Refresh)
            .WithName("RefreshToken")
            .WithSummary("Exchange a refresh token (used up) for a new pair.")
            .Produces<TokenPair>()
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        auth.MapPost("/revoke", Revoke)
            .WithName("RevokeToken")
            .WithSummary("Revoke a refresh token.")
            .Produces<RevokeResponse>();
        return api;
    }

    private static async Task<IResult> Token(HttpRequest http, TokenService tokens, AuthOptions options, IOptions<JsonOptions> json)
    {
        var (body, error) = await Read<TokenBody>(http, options, json);
        if (error is not null)
        {
            return error;
        }

        if (tokens.FindApiKey(body!.ApiKey) is not { } key)
        {
            return new ApiError(StatusCodes.Status401Unauthorized, "invalid_api_key", "The API key is not valid.", "api_key").ToResult();
        }

        return NoStore(http, TypedResults.Ok(await tokens.Issue(key.User, key.Role)));
    }

    private static async Task<IResult> Refresh(HttpRequest http, TokenService tokens, AuthOptions options, IOptions<JsonOptions> json)
    {
        var (body, error) = await Read<RefreshBody>(http, options, json);
        if (error is not null)
        {
            return error;
        }

        return await tokens.Refresh(body!.RefreshToken) is { } pair
            ? NoStore(http, TypedResults.Ok(pair))
            : new ApiError(StatusCodes.Status401Unauthorized, "invalid_refresh_token", "The refresh token is not valid: expired, revoked, already used, or not one.", "refresh_token").ToResult();
    }

    private static async Task<IResult> Revoke(HttpRequest http, TokenService tokens, AuthOptions options, IOptions<JsonOptions> json)
    {
        var (body, error) = await Read<RefreshBody>(http, options, json);
        return error ?? TypedResults.Ok(new RevokeResponse(await tokens.Revoke(body!.RefreshToken)));
    }

    private static IResult NoStore(HttpRequest http, IResult result)
    {
        http.HttpContext.Response.Headers.CacheControl = "no-store";
        return result;
    }

    private static async Task<(T? Body, IResult? Error)> Read<T>(HttpRequest http, AuthOptions options, IOptions<JsonOptions> json)
        where T : class
    {
        if (!options.Enabled)
        {
            return (null, ApiError.BadRequest("auth_not_configured", "Auth is off on this server (no security.jwt_secret): no token is needed.").ToResult());
        }

        if (ApiError.IsNotJson(http))
        {
            return (null, ApiError.UnsupportedMediaType.ToResult());
        }

        try
        {
            return await JsonSerializer.DeserializeAsync<T>(http.Body, json.Value.SerializerOptions, http.HttpContext.RequestAborted) is { } body
                ? (body, null)
                : (null, ApiError.BadRequest("invalid_json", "The body must be a JSON object.").ToResult());
        }
        catch (JsonException e)
        {
            var (field, message) = ApiError.DescribeJson(e);
            return (null, ApiError.BadRequest("invalid_json", message, field).ToResult());
        }
    }
}
