using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using MitTts.Gateway.Hosting;

namespace MitTts.Tests.Security;

/// <summary>What a client reads when something unexpected fails inside the gateway: the stable code and a plain sentence, never the
/// exception's message, its stack trace or a path of the server's files. (The gateway offers no honest way to fail on purpose, so the
/// handler the gateway installs is given a real exception, thrown and caught, carrying all three.)</summary>
public sealed class ErrorBodyTests
{
    private const string Secret = "sk-the-key-that-was-in-the-connection-string";
    private const string ServerPath = "/srv/mittts/Gateway/Internal/Secrets.cs";

    [Theory]
    [InlineData("/api/v1/synthesize", "code")]
    [InlineData("/v1/audio/speech", "error")]
    public async Task An_unexpected_failure_answers_its_code_without_message_stack_trace_or_path(string path, string shapeKey)
    {
        var failure = Thrown();
        Assert.Contains("   at ", failure.StackTrace ?? "", StringComparison.Ordinal);
        var context = new DefaultHttpContext
        {
            RequestServices = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider(),
            Request = { Method = "POST", Path = path },
            Response = { Body = new MemoryStream() },
        };

        Assert.True(await new GatewayExceptionHandler(NullLogger<GatewayExceptionHandler>.Instance).TryHandleAsync(context, failure, default));

        Assert.Equal(StatusCodes.Status500InternalServerError, context.Response.StatusCode);
        var body = System.Text.Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray());
        using var json = JsonDocument.Parse(body);
        Assert.Contains("internal_error", json.RootElement.GetProperty(shapeKey).ToString(), StringComparison.Ordinal);
        foreach (var leak in new[] { Secret, ServerPath, "Secrets.cs", "   at ", nameof(InvalidOperationException), nameof(Thrown) })
        {
            Assert.DoesNotContain(leak, body, StringComparison.Ordinal);
        }
    }

    private static InvalidOperationException Thrown()
    {
        try
        {
            throw new InvalidOperationException($"Connecting with {Secret} failed in {ServerPath}");
        }
        catch (InvalidOperationException e)
        {
            return e;
        }
    }
}
