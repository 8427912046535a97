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

    /// <summary>What a JSON endpoint answers a body sent as something else: form posts and plain text, which a web page may send
    /// across origins without asking first, never reach it. A body without a content type is read as JSON.</summary>
    public static ApiError UnsupportedMediaType { get; } =
        new(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", "Send the request body as application/json.");

    /// <summary>Whether the request says its body is something other than JSON.</summary>
    public static bool IsNotJson(HttpRequest request) =>
        request?.ContentType is { } contentType && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase);

    /// <summary>What a body the deserializer refused gets: the field and what is wrong with it, or that the body is not JSON at all, or
    /// that it is JSON but not an object (<c>[]</c>, <c>"text"</c>, <c>5</c>). The reader's syntax errors come wrapped (an inner
    /// <see cref="System.Text.Json.JsonException"/>); a value that does not fit its type does not.</summary>
    public static (string? Field, string Message) DescribeJson(System.Text.Json.JsonException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var field = error.Path is { Length: > 2 } path ? path[2..] : null;
        return (field, error.InnerException) switch
        {
            ({ } name, _) => (name, $"The body is not valid JSON at '{name}': wrong type or syntax."),
            (null, System.Text.Json.JsonException) => (null, "The body is not valid JSON."),
            _ => (null, "The body must be a JSON object."),
        };
    }

    /// <summary>The response in the shape of the API <paramref name="http"/> asked: OpenAI's on its paths, problem details elsewhere.</summary>
    public IResult ToResultFor(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return OpenAi.OpenAiPaths.Matches(http.Request.Path) ? OpenAi.OpenAiError.From(this).ToResult() : ToResult();
    }

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
    /// does not take, a route value that does not bind) gets the shape every other error of its API has, with a stable code.</summary>
    public static Task WriteBodyless(StatusCodeContext context)
    {
        var http = context.HttpContext;
        var status = http.Response.StatusCode;
        var openAi = OpenAi.OpenAiPaths.Matches(http.Request.Path);
        var (code, message) = status switch
        {
            StatusCodes.Status404NotFound when openAi => ("not_found", $"Nothing at {http.Request.Path}: the OpenAI-compatible API has "
                + "POST /v1/audio/speech, GET /v1/models and GET /v1/audio/voices."),
            StatusCodes.Status404NotFound when http.Request.Path.StartsWithSegments("/api/v1") =>
                ("not_found", $"Nothing at {http.Request.Path}: see /docs for the API's routes."),
            StatusCodes.Status404NotFound => ("not_found", $"Nothing at {http.Request.Path}: the API is under /api/v1 (see /docs)."),
            StatusCodes.Status405MethodNotAllowed => ("method_not_allowed", $"{http.Request.Method} is not allowed on {http.Request.Path}."),
            StatusCodes.Status400BadRequest => ("bad_request", "The request could not be read: a route or query value of the wrong type."),
            _ => ("http_" + status.ToString(CultureInfo.InvariantCulture), ReasonPhrases.GetReasonPhrase(status) + "."),
        };
        return new ApiError(status, code, message).ToResultFor(http).ExecuteAsync(http);
    }

    /// <summary>The problem response, counted under its code as it is written (<c>mittts_errors_total</c>; a 429 also in
    /// <c>mittts_rejections_total</c>: busy, rate_limited, too_many_active_tasks).</summary>
    private sealed class CountedProblem(ApiError error, IResult problem) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            GatewayMetrics.Answered(httpContext, error.Status, error.Code);
            return problem.ExecuteAsync(httpContext);
        }
    }
}
