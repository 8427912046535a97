using System.Globalization;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using MitTts.Gateway.Telemetry;

namespace MitTts.Gateway.Apis;

/// <summary>An error the client can act on: HTTP status, a stable code, a human message, and the field at fault.</summary>
public sealed record ApiError(int Status, string Code, string Message, string? Field = null)
{
    public static ApiError BadRequest(string code, string message, string? field = null) => new(StatusCodes.Status400BadRequest, code, message, field);

    public static ApiError NotFound(string code, string message, string? field = null) => new(StatusCodes.Status404NotFound, code, message, field);

    public static ApiError Conflict(string code, string message) => new(StatusCodes.Status409Conflict, code, message);

    public static ApiError Gone(string code, string message) => new(StatusCodes.Status410Gone, code, message);

    /// <summary>A problem-details response carrying <c>code</c>, <c>message</c> and <c>field</c>.</summary>
    public IResult ToResult(IDictionary<string, object?>? extra = null)
    {
        var problem = new ProblemDetails
        {
            Status = Status,
            Title = Message,
            Type = $"https://mittts.dev/errors/{Code}",
        };
        problem.Extensions["code"] = Code;
        problem.Extensions["message"] = Message;
        problem.Extensions["field"] = Field;
        if (extra is not null)
        {
            foreach (var (key, value) in extra)
            {
                problem.Extensions[key] = value;
            }
        }

        return new CountedProblem(this, TypedResults.Problem(problem));
    }

    /// <summary>For <c>UseStatusCodePages</c>: an error status that left the pipeline without a body (no such route, a method the route
    /// does not take, a route value that does not bind) gets the problem shape every other error has, with a stable code.</summary>
    public static Task WriteBodyless(StatusCodeContext context)
    {
        var http = context.HttpContext;
        var status = http.Response.StatusCode;
        var (code, message) = status switch
        {
            StatusCodes.Status404NotFound => ("not_found", $"Nothing at {http.Request.Path}: the API is under /api/v1 (see /docs)."),
            StatusCodes.Status405MethodNotAllowed => ("method_not_allowed", $"{http.Request.Method} is not allowed on {http.Request.Path}."),
            StatusCodes.Status400BadRequest => ("bad_request", "The request could not be read: a route or query value of the wrong type."),
            _ => ("http_" + status.ToString(CultureInfo.InvariantCulture), ReasonPhrases.GetReasonPhrase(status) + "."),
        };
        return new ApiError(status, code, message).ToResult().ExecuteAsync(http);
    }

    /// <summary>The problem response, counted under its code as it is written (<c>mittts_errors_total</c>; a 429 also in
    /// <c>mittts_rejections_total</c>: busy, rate_limited, too_many_active_tasks).</summary>
    private sealed class CountedProblem(ApiError error, IResult problem) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            if (httpContext.RequestServices.GetService<GatewayMetrics>() is { } metrics)
            {
                metrics.Error(error.Code);
                if (error.Status == StatusCodes.Status429TooManyRequests)
                {
                    metrics.Rejected(error.Code);
                }
            }

            return problem.ExecuteAsync(httpContext);
        }
    }
}
