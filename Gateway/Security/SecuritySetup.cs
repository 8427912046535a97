using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using MitTts.Gateway.Apis;
using MitTts.Gateway.OpenAi;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Security;

/// <summary>Auth (HS256 bearer tokens), authorization (a token for everything but health; the admin role for admin surfaces), rate
/// limits, CORS and security headers.</summary>
public static partial class SecuritySetup
{
    /// <summary>The policy of admin surfaces: the admin role when auth is on; anyone (on loopback) when it is off.</summary>
    public const string AdminPolicy = "admin";

    /// <summary>Rate-limit policies, named after their <see cref="RateLimitKind"/>.</summary>
    public const string SynthesizeLimit = "synthesize";
    public const string HealthLimit = "health";
    public const string AuthLimit = "auth";

    private const string CorsPolicy = "mittts";

    public static void AddMitTtsSecurity(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        var services = builder.Services;
        var auth = AuthOptions.From(configuration);
        auth.Validate();
        var host = configuration["server:host"] ?? "127.0.0.1";
        if (!auth.Enabled && !auth.Disabled && !IsLoopback(host))
        {
            throw new InvalidOperationException(
                $"server.host is {host}, but no security.jwt_secret (MIT_TTS_JWT_SECRET) is set: without auth the server serves loopback only. "
                + "Set a secret of at least 32 bytes, or auth.disabled=true (MIT_TTS_AUTH_DISABLED=true) to serve without auth on purpose.");
        }

        services.AddSingleton(auth);
        services.AddSingleton<TokenService>();
        services.TryAddSingleton(TimeProvider.System);
        services.Configure<RateLimitOptions>(configuration.GetSection(RateLimitOptions.Section));
        var limits = configuration.GetSection(RateLimitOptions.Section).Get<RateLimitOptions>() ?? new RateLimitOptions();
        foreach (var kind in Enum.GetValues<RateLimitKind>())
        {
            _ = limits.For(kind); // a setting that does not parse stops the start, naming itself
        }

        _ = ForwardedHeaders(configuration);

        services.AddSingleton<RateLimits>();
        services.AddSingleton<ApiKeyGuesses>();
        services.AddSingleton<SocketLeases>();
        services.AddHostedService(sp => sp.GetRequiredService<SocketLeases>());

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<TokenService>((jwt, tokens) =>
        {
            jwt.MapInboundClaims = false;
            jwt.TokenValidationParameters = tokens.Parameters;
            jwt.Events = new JwtBearerEvents
            {
                // Browsers cannot set headers on a WebSocket: /ws also takes ?token=.
                OnMessageReceived = context =>
                {
                    if (context.Request.Path.StartsWithSegments("/ws") && context.Request.Query["token"] is [{ Length: > 0 } token])
                    {
                        context.Token = token;
                    }

                    return ApiKeyBearer.TryAuthenticate(context);
                },
                OnTokenValidated = context =>
                {
                    if (tokens.AccessProblem(context.Principal?.Identity as ClaimsIdentity) is { } problem)
                    {
                        context.Fail(problem);
                    }

                    return Task.CompletedTask;
                },
                OnChallenge = async context =>
                {
                    context.HandleResponse();
                    context.Response.Headers.WWWAuthenticate = "Bearer";
                    if (OpenAiPaths.Matches(context.Request.Path))
                    {
                        if (context.HttpContext.Items[ApiKeyBearer.RetryAfterItem] is TimeSpan wait)
                        {
                            // Wrong API keys past the address's budget: told to wait, as POST /auth/token would.
                            await OpenAiRateLimited(context.HttpContext, wait, "Too many wrong API keys");
                            return;
                        }

                        await (context.AuthenticateFailure is null
                            ? new OpenAiError(StatusCodes.Status401Unauthorized, "You didn't provide an API key: Authorization: Bearer <API key or access token>.", null, "missing_api_key")
                            : new OpenAiError(StatusCodes.Status401Unauthorized, "Incorrect API key or access token provided.", null, "invalid_api_key"))
                            .ToResult().ExecuteAsync(context.HttpContext);
                        return;
                    }

                    var error = context.AuthenticateFailure is null
                        ? new ApiError(StatusCodes.Status401Unauthorized, "unauthorized", "This endpoint needs an access token: Authorization: Bearer <token> (POST /api/v1/auth/token).")
                        : new ApiError(StatusCodes.Status401Unauthorized, "invalid_token", "The access token is not valid: expired, tampered with, or not an access token.");
                    await error.ToResult().ExecuteAsync(context.HttpContext);
                },
                OnForbidden = context =>
                    new ApiError(StatusCodes.Status403Forbidden, "forbidden", "This endpoint needs the admin role.").ToResult().ExecuteAsync(context.HttpContext),
            };
        });

        services.AddAuthorization(authorization =>
        {
            authorization.AddPolicy(AdminPolicy, policy =>
            {
                if (auth.Enabled)
                {
                    policy.RequireClaim(TokenService.RoleClaim, Roles.Admin);
                }
                else
                {
                    policy.RequireAssertion(_ => true);
                }
            });
            if (auth.Enabled)
            {
                authorization.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
            }
        });

        services.AddRateLimiter(limiter =>
        {
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var after = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var leaseAfter) ? leaseAfter : TimeSpan.Zero;
                if (OpenAiPaths.Matches(context.HttpContext.Request.Path))
                {
                    await OpenAiRateLimited(context.HttpContext, after, "Rate limit reached");
                    return;
                }

                var retryAfter = RetryAfterSeconds(after);
                context.HttpContext.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);

                await new ApiError(StatusCodes.Status429TooManyRequests, "rate_limited", $"Rate limit reached; retry in {retryAfter} s.")
                    .ToResult(new Dictionary<string, object?> { ["retry_after"] = retryAfter }).ExecuteAsync(context.HttpContext);
            };
            limiter.AddPolicy(SynthesizeLimit, http => Partition(http, RateLimitKind.Synthesize));
            limiter.AddPolicy(HealthLimit, http => Partition(http, RateLimitKind.Health));
            limiter.AddPolicy(AuthLimit, http => Partition(http, RateLimitKind.Auth));
        });

        var origins = configuration.GetSection("security:cors_origins").Get<string[]>() ?? [];
        services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy =>
        {
            if (origins.Contains("*"))
            {
                policy.AllowAnyOrigin();
            }
            else
            {
                policy.WithOrigins(origins);
            }

            policy.AllowAnyHeader().AllowAnyMethod().WithExposedHeaders("Retry-After", "Location", "X-Task-Id", "X-Audio-Duration", "X-Sample-Rate");
        }));
    }

    /// <summary>Whole seconds to wait, at least one.</summary>
    private static int RetryAfterSeconds(TimeSpan after) => Math.Max(1, (int)Math.Ceiling(after.TotalSeconds));

    /// <summary>An OpenAI-shaped 429 <c>rate_limit_exceeded</c> with <c>Retry-After</c>: <paramref name="what"/>; retry in N s.</summary>
    private static Task OpenAiRateLimited(HttpContext http, TimeSpan after, string what)
    {
        var seconds = RetryAfterSeconds(after);
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return new OpenAiError(StatusCodes.Status429TooManyRequests, $"{what}; retry in {seconds} s.", null, "rate_limit_exceeded").ToResult().ExecuteAsync(http);
    }

    /// <summary>The client's address from <c>X-Forwarded-For</c>, only when the request comes from a proxy named in
    /// <c>security:forwarded</c> (none by default: a client must not choose the address its budget is counted under). First in the
    /// pipeline, so limits, logs and telemetry see the client rather than the proxy.</summary>
    public static void UseMitTtsForwardedHeaders(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = ForwardedHeaders(app.Configuration);
        if (options.KnownProxies.Count > 0 || options.KnownIPNetworks.Count > 0)
        {
            app.UseForwardedHeaders(options);
        }
    }

    /// <summary><c>security:forwarded:known_proxies</c> (addresses) and <c>known_networks</c> (CIDR), replacing ASP.NET Core's default
    /// of trusting loopback; the rightmost untrusted address of the header is the client's.</summary>
    public static ForwardedHeadersOptions ForwardedHeaders(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new ForwardedHeadersOptions { ForwardedHeaders = Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedFor, ForwardLimit = null };
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var proxy in configuration.GetSection("security:forwarded:known_proxies").Get<string[]>() ?? [])
        {
            options.KnownProxies.Add(IPAddress.TryParse(proxy, out var address)
                ? address
                : throw new InvalidOperationException($"security.forwarded.known_proxies (MIT_TTS_TRUSTED_PROXIES): '{proxy}' is not an IP address."));
        }

        foreach (var network in configuration.GetSection("security:forwarded:known_networks").Get<string[]>() ?? [])
        {
            options.KnownIPNetworks.Add(IPNetwork.TryParse(network, out var parsed)
                ? parsed
                : throw new InvalidOperationException($"security.forwarded.known_networks (MIT_TTS_TRUSTED_NETWORKS): '{network}' is not a network such as 10.0.0.0/8."));
        }

        return options;
    }

    /// <summary>The security headers on every answer, the playground's static files included (where a user pastes a token, so it
    /// must not be framed): before anything that can answer.</summary>
    public static void UseMitTtsSecurityHeaders(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // As the response starts: an error answered by the exception handler starts from cleared headers.
        app.Use((context, next) =>
        {
            context.Response.OnStarting(static state =>
            {
                var headers = ((HttpResponse)state).Headers;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "no-referrer";
                return Task.CompletedTask;
            }, context.Response);
            return next(context);
        });
    }

    /// <summary>CORS, authentication, authorization and rate limits, in that order; logs loudly when auth is off.</summary>
    public static void UseMitTtsSecurity(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseCors(CorsPolicy);
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();

        if (!app.Services.GetRequiredService<AuthOptions>().Enabled)
        {
            LogAuthOff(app.Logger);
        }
    }

    /// <summary>Whether <paramref name="host"/> (the <c>server.host</c> setting) names a loopback address only.</summary>
    public static bool IsLoopback(string host) =>
        host.Trim() is "localhost" || (IPAddress.TryParse(host.Trim(), out var address) && IPAddress.IsLoopback(address));

    private static RateLimitPartition<string> Partition(HttpContext http, RateLimitKind kind)
    {
        var limits = http.RequestServices.GetRequiredService<RateLimits>();
        if (limits.Limit(kind) is null || limits.Partition(Caller.From(http).UserId, http.Connection.RemoteIpAddress) is not { } partition)
        {
            return RateLimitPartition.GetNoLimiter(string.Empty);
        }

        return RateLimitPartition.Get(partition + "|" + kind, _ => limits.Limiter(partition, kind));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "AUTH IS OFF: no security.jwt_secret (MIT_TTS_JWT_SECRET) is set, so every caller is trusted. "
        + "The server listens on loopback only; set a secret of at least 32 bytes before exposing it.")]
    private static partial void LogAuthOff(ILogger logger);
}
