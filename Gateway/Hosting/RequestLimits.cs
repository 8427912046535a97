using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using MitTts.Gateway.Apis;

namespace MitTts.Gateway.Hosting;

/// <summary>The request line and header limits, answered as the API's own errors (414 <c>uri_too_long</c>, 431
/// <c>headers_too_large</c>) in the shape of the API the path belongs to.</summary>
/// <remarks>Kestrel answers a request over its own limits itself, before any middleware, with an empty body. So Kestrel's limits sit
/// above these (<see cref="Configure"/>) and this middleware refuses what lies between with a body the client can act on; only a request
/// past Kestrel's hard limits (four times these) still gets Kestrel's bare status.</remarks>
public static class RequestLimits
{
    /// <summary>The longest request target (path and query, as sent) the API reads: Kestrel's default request line limit.</summary>
    public const int MaxTargetBytes = 8 * 1024;

    /// <summary>The most header bytes (names, values and their separators) the API reads: Kestrel's default.</summary>
    public const int MaxHeaderBytes = 32 * 1024;

    /// <summary>The most header fields the API reads: Kestrel's default.</summary>
    public const int MaxHeaderCount = 100;

    private const int HardLimitFactor = 4;

    /// <summary>Raises Kestrel's limits above the API's, so that the API, not Kestrel, answers the requests between the two.</summary>
    public static void Configure(KestrelServerLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        limits.MaxRequestLineSize = MaxTargetBytes * HardLimitFactor;
        limits.MaxRequestHeadersTotalSize = MaxHeaderBytes * HardLimitFactor;
        limits.MaxRequestHeaderCount = MaxHeaderCount * HardLimitFactor;
    }

    /// <summary>Refuses a request whose target or headers are over the API's limits; to go early in the pipeline (before
    /// authentication: nobody's token is read from a request this large).</summary>
    public static void UseMitTtsRequestLimits(this WebApplication app) => app.Use((context, next) =>
    {
        if (Refusal(context) is { } error)
        {
            context.Response.StatusCode = error.Status;
            return error.ToResultFor(context).ExecuteAsync(context);
        }

        return next(context);
    });

    /// <summary>What a request over a limit gets; null for one within them.</summary>
    internal static ApiError? Refusal(HttpContext context)
    {
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (target is not null && target.Length > MaxTargetBytes)
        {
            return new ApiError(StatusCodes.Status414UriTooLong, "uri_too_long",
                $"The request's path and query are {target.Length} bytes, over the {MaxTargetBytes / 1024} KiB limit.");
        }

        var headers = context.Request.Headers;
        if (headers.Count > MaxHeaderCount)
        {
            return HeadersTooLarge($"The request has {headers.Count} header fields, over the limit of {MaxHeaderCount}.");
        }

        var bytes = 0L;
        foreach (var header in headers)
        {
            foreach (var value in header.Value)
            {
                // As sent: "name: value\r\n" per line.
                bytes += header.Key.Length + (value?.Length ?? 0) + 4;
            }
        }

        return bytes > MaxHeaderBytes
            ? HeadersTooLarge($"The request's headers are {bytes} bytes, over the {MaxHeaderBytes / 1024} KiB limit.")
            : null;
    }

    private static ApiError HeadersTooLarge(string message) =>
        new(StatusCodes.Status431RequestHeaderFieldsTooLarge, "headers_too_large", message);
}
