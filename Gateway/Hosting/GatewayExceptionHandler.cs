using Microsoft.AspNetCore.Diagnostics;
using MitTts.Gateway.Apis;

namespace MitTts.Gateway.Hosting;

/// <summary>Turns exceptions that escape an endpoint into problem details with a stable code; the server stays up.</summary>
public sealed partial class GatewayExceptionHandler(ILogger<GatewayExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var error = exception switch
        {
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
                new ApiError(StatusCodes.Status413PayloadTooLarge, "payload_too_large", "The request body is larger than the 1 MiB limit."),
            BadHttpRequestException bad => new ApiError(bad.StatusCode, "bad_request", bad.Message),
            _ when ClusterHealth.IsUnavailable(exception) =>
                new ApiError(StatusCodes.Status503ServiceUnavailable, "cluster_unavailable", "The synthesis cluster did not answer; retry shortly."),
            _ => new ApiError(StatusCodes.Status500InternalServerError, "internal_error", "An unexpected error occurred; it has been logged."),
        };

        if (error.Status >= StatusCodes.Status500InternalServerError)
        {
            LogUnhandled(httpContext.Request.Method, httpContext.Request.Path, exception);
        }

        httpContext.Response.StatusCode = error.Status;
        await error.ToResultFor(httpContext).ExecuteAsync(httpContext);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Request {Method} {Path} failed")]
    private partial void LogUnhandled(string method, string path, Exception exception);
}
