using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using MitTts.Tests.Support;

namespace MitTts.Tests.Observability;

/// <summary>An OTLP/HTTP (protobuf) receiver on a loopback port: it keeps the spans exported to it (trace id, span id, parent, name),
/// read with a few lines of protobuf wire format (ExportTraceServiceRequest → ResourceSpans → ScopeSpans → Span).</summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ExportedSpan> _spans = new();

    private OtlpReceiver(WebApplication app, int port)
    {
        _app = app;
        Endpoint = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>The base address for <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>.</summary>
    public string Endpoint { get; }

    public IReadOnlyList<ExportedSpan> Spans => [.. _spans];

    public static async Task<OtlpReceiver> Start()
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        var app = builder.Build();
        var receiver = new OtlpReceiver(app, port);
        app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            receiver.Read(body.ToArray());
            return Microsoft.AspNetCore.Http.Results.Ok();
        });
        app.MapPost("/v1/metrics", () => Microsoft.AspNetCore.Http.Results.Ok());
        await app.StartAsync();
        return receiver;
    }

    private void Read(byte[] request)
    {
        foreach (var resourceSpans in Fields(request, 1))
        {
            foreach (var scopeSpans in Fields(resourceSpans, 2))
            {
                foreach (var span in Fields(scopeSpans, 2))
                {
                    var traceId = Convert.ToHexString(Fields(span, 1).FirstOrDefault() ?? []);
                    var spanId = Convert.ToHexString(Fields(span, 2).FirstOrDefault() ?? []);
                    var parent = Convert.ToHexString(Fields(span, 4).FirstOrDefault() ?? []);
                    var name = Encoding.UTF8.GetString(Fields(span, 5).FirstOrDefault() ?? []);
                    _spans.Enqueue(new ExportedSpan(traceId, spanId, parent, name));
                }
            }
        }
    }

    /// <summary>The length-delimited fields numbered <paramref name="number"/> of a message; other fields are skipped.</summary>
    private static List<byte[]> Fields(ReadOnlySpan<byte> message, int number)
    {
        var found = new List<byte[]>();
        var i = 0;
        while (i < message.Length)
        {
            var key = Varint(message, ref i);
            var wire = (int)(key & 7);
            switch (wire)
            {
                case 0:
                    Varint(message, ref i);
                    break;
                case 1:
                    i += 8;
                    break;
                case 5:
                    i += 4;
                    break;
                case 2:
                    var length = (int)Varint(message, ref i);
                    if ((int)(key >> 3) == number)
                    {
                        found.Add(message.Slice(i, length).ToArray());
                    }

                    i += length;
                    break;
                default:
                    throw new InvalidDataException($"protobuf wire type {wire}");
            }
        }

        return found;
    }

    private static ulong Varint(ReadOnlySpan<byte> message, ref int i)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = message[i++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>One exported span: ids in hex, the parent's empty for a root.</summary>
public sealed record ExportedSpan(string TraceId, string SpanId, string ParentSpanId, string Name);
