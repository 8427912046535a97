using System.Diagnostics;
using MitTts.Tests.Api;

namespace MitTts.Tests.Observability;

/// <summary>Traces over OTLP: one trace from the HTTP request through the grains to the engine.</summary>
public sealed class TracingTests
{
    [Fact]
    public async Task A_synthesis_request_is_one_trace_from_the_request_through_the_grains_to_the_engine()
    {
        await using var receiver = await OtlpReceiver.Start();
        await using var server = await GatewayProcess.Start(new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        });
        (await server.Client.Synthesize(new { text = "Una traza entera.", voice_id = "es-female-1" }, wait: true)).EnsureSuccessStatusCode();

        ExportedSpan? request = null;
        ExportedSpan? engine = null;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            var spans = receiver.Spans;
            request = spans.FirstOrDefault(s => s.Name.Contains("/api/v1/synthesize", StringComparison.Ordinal));
            engine = request is null ? null : spans.FirstOrDefault(s => s.Name == "synthesize" && s.TraceId == request.TraceId);
            if (engine is not null)
            {
                break;
            }

            await Task.Delay(100);
        }

        var names = string.Join(", ", receiver.Spans.Select(s => $"{s.Name} ({s.TraceId[..8]})"));
        Assert.True(request is not null, $"no span of the request among: {names}");
        Assert.True(engine is not null, $"no synthesis span in the request's trace among: {names}");

        // Between them, grain calls of that same trace: the task and the synthesizer.
        var trace = receiver.Spans.Where(s => s.TraceId == request!.TraceId).ToList();
        Assert.Contains(trace, s => s.Name.Contains("ITaskGrain", StringComparison.Ordinal));
        Assert.Contains(trace, s => s.Name.Contains("ISynthesizerGrain", StringComparison.Ordinal));
        Assert.Empty(request!.ParentSpanId.Trim('0'));
    }
}
