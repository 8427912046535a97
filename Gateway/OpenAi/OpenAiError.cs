using System.Globalization;
using MitTts.Gateway.Apis;
using MitTts.Gateway.Telemetry;

namespace MitTts.Gateway.OpenAi;

/// <summary>An error in OpenAI's shape, <c>{"error": {"message", "type", "param", "code"}}</c>, so OpenAI clients raise their own
/// error classes (status, message and code) for it.</summary>
public sealed record OpenAiError(int Status, string Message, string? Param, string? Code)
{
    /// <summary>OpenAI's <c>type</c> for a status, as OpenAI sends it: a request limit, the server's fault, or the request's (401 too).</summary>
    public string Type => Status switch
    {
        StatusCodes.Status429TooManyRequests => "requests",
        >= StatusCodes.Status500InternalServerError => "server_error",
        _ => "invalid_request_error",
    };

    public static OpenAiError BadRequest(string message, string? param, string? code) => new(StatusCodes.Status400BadRequest, message, param, code);

    /// <summary>One of our errors (validation, scheduling) in OpenAI's shape, its field named as OpenAI names it.</summary>
    public static OpenAiError From(ApiError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new OpenAiError(error.Status, error.Message, ParamOf(error.Field), error.Code);
    }

    /// <summary>Writes the error, with <c>Retry-After</c> for a 429 that says when.</summary>
    public IResult ToResult(int? retryAfterSeconds = null) => new Result(this, retryAfterSeconds);

    /// <summary>The OpenAI parameter behind one of our request fields.</summary>
    private static string? ParamOf(string? field) => field switch
    {
        "text" => "input",
        "voice_id" => "voice",
        "format" or "sample_rate" or "bitrate" => "response_format",
        "priority" => OpenAiSpeechApi.PriorityHeader,
        _ => field,
    };

    private sealed class Result(OpenAiError error, int? retryAfterSeconds) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            if (retryAfterSeconds is { } seconds)
            {
                httpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            }

            GatewayMetrics.Answered(httpContext, error.Status, error.Code ?? "http_" + error.Status.ToString(CultureInfo.InvariantCulture));
            var body = new OpenAiErrorBody(new OpenAiErrorDetail(error.Message, error.Type, error.Param, error.Code));
            return TypedResults.Json(body, statusCode: error.Status).ExecuteAsync(httpContext);
        }
    }
}

/// <summary>The wire form of <see cref="OpenAiError"/>.</summary>
public sealed record OpenAiErrorBody(OpenAiErrorDetail Error);

/// <summary>OpenAI's error object: <c>param</c> and <c>code</c> are null when nothing more precise applies.</summary>
public sealed record OpenAiErrorDetail(string Message, string Type, string? Param, string? Code);

/// <summary>The paths of the OpenAI-compatible API, whose errors (auth and rate limits included) take OpenAI's shape.</summary>
public static class OpenAiPaths
{
    public static bool Matches(PathString path) => path.StartsWithSegments("/v1", StringComparison.OrdinalIgnoreCase);
}
