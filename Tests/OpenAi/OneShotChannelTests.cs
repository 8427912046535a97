using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MitTts.Tests.Api;

namespace MitTts.Tests.OpenAi;

/// <summary>One-shot requests (an OpenAI speech request, a Wyoming connection) ride a channel of their own; it ends with them, so its
/// buffers and its place among the silo's sessions are free at once, not after the 30 s resume window.</summary>
public sealed class OneShotChannelTests
{
    [Fact]
    public async Task An_openai_request_and_a_wyoming_connection_leave_no_session_or_buffer_behind()
    {
        await using var gateway = await RunningGateway.Start("--wyoming:port=-1");
        Assert.Equal(0, await ActiveSessions(gateway));

        var speech = await gateway.Client.PostAsJsonAsync("/v1/audio/speech", new { model = "tts-1", input = "Hola, una respuesta corta.", voice = "alloy", response_format = "pcm" });
        Assert.Equal(HttpStatusCode.OK, speech.StatusCode);
        Assert.NotEmpty(await speech.Content.ReadAsByteArrayAsync());

        var port = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<MitTts.Gateway.Wyoming.WyomingServer>(gateway.Services).BoundPort;
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync("127.0.0.1", port);
            var stream = tcp.GetStream();
            var data = Encoding.UTF8.GetBytes("""{"text":"Hola."}""");
            await stream.WriteAsync(Encoding.UTF8.GetBytes($"{{\"type\":\"synthesize\",\"data_length\":{data.Length}}}\n"));
            await stream.WriteAsync(data);
            var received = new StringBuilder();
            var buffer = new byte[65536];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (!received.ToString().Contains("audio-stop", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer, timeout.Token);
                Assert.True(read > 0, "the server closed the connection before audio-stop");
                received.Append(Encoding.Latin1.GetString(buffer, 0, read));
            }
        }

        // Well inside the resume window: the channels are gone, not waiting to be abandoned.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (await ActiveSessions(gateway) != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "a one-shot channel stayed after its request");
            await Task.Delay(50);
        }

        var status = await gateway.Client.GetFromJsonAsync<JsonElement>("/api/v1/status");
        Assert.Equal(0, status.GetProperty("channel_buffers").GetProperty("bytes").GetInt64());
    }

    private static async Task<int> ActiveSessions(RunningGateway gateway) =>
        (await gateway.Client.GetFromJsonAsync<JsonElement>("/api/v1/status")).GetProperty("channel_buffers").GetProperty("active_sessions").GetInt32();
}
