using System.Diagnostics;
using Serilog.Context;

namespace MitTts.Gateway.Telemetry;

/// <summary>Per request: its id on every log line written while it runs (<c>RequestId</c>, also sent back as <c>X-Request-Id</c>), and
/// its count and duration by method, route pattern and status.</summary>
public static class RequestTelemetry
{
    public const string RequestIdHeader = "X-Request-Id";

    public static void UseMitTtsRequestTelemetry(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var metrics = app.Services.GetRequiredService<GatewayMetrics>();

        // Once the metrics pipeline listens (it starts with the host): a measurement made before then is lost.
        app.Lifetime.ApplicationStarted.Register(metrics.StartSeries);
        app.Use(async (context, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            // Routing has run: the endpoint is known now, and the exception handler clears it before it answers.
            var endpoint = context.GetEndpoint();
            var requestId = context.TraceIdentifier;
            // As the response starts: an error answered by the exception handler starts from cleared headers.
            context.Response.OnStarting(static state =>
            {
                var http = (HttpContext)state;
                http.Response.Headers[RequestIdHeader] = http.TraceIdentifier;
                return Task.CompletedTask;
            }, context);
            using (LogContext.PushProperty("RequestId", requestId))
            {
                try
                {
                    await next(context);
                }
                finally
                {
                    // The route pattern, not the path: /tasks/{task_id} is one series, not one per task.
                    var route = ((context.GetEndpoint() ?? endpoint) as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
                    metrics.RequestFinished(context.Request.Method, route, context.Response.StatusCode, Stopwatch.GetElapsedTime(started));
                }
            }
        });
    }
}
