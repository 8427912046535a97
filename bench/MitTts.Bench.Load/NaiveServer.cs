using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace MitTts.Bench.Load;

/// <summary>The shell-out design MitTts is measured against: an HTTP server that spawns <c>espeak-ng --stdout</c> for each
/// request and streams the process's WAV output to the response as it comes.</summary>
/// <remarks><c>POST /synthesize</c> with <c>{"text": …}</c>; the answer is the WAV (44-byte header, then s16le at 22050 Hz).</remarks>
internal sealed class NaiveServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _accepting;

    public NaiveServer()
    {
        var port = EmbeddedServer.FreePort();
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(BaseAddress.ToString());
        _listener.Start();
        _accepting = Task.Run(Accept);
    }

    public Uri BaseAddress { get; }

    private async Task Accept()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => Handle(context));
        }
    }

    private static async Task Handle(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            using var body = await JsonDocument.ParseAsync(context.Request.InputStream);
            var text = body.RootElement.GetProperty("text").GetString() ?? "";
            var start = new ProcessStartInfo("espeak-ng")
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
                ArgumentList = { "--stdout", "-v", RawEngine.EngineVoice, text },
            };
            using var process = Process.Start(start)!;
            response.ContentType = "audio/wav";
            response.SendChunked = true;
            var buffer = new byte[16 * 1024];
            var output = process.StandardOutput.BaseStream;
            int read;
            while ((read = await output.ReadAsync(buffer)) > 0)
            {
                await response.OutputStream.WriteAsync(buffer.AsMemory(0, read));
                await response.OutputStream.FlushAsync();
            }

            await process.WaitForExitAsync();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or HttpListenerException or IOException or System.ComponentModel.Win32Exception)
        {
            // Headers may be out already: the client sees a short or empty body and counts a failure.
            Console.Error.WriteLine($"naive server: {e.Message}");
        }
        finally
        {
            response.Close();
        }
    }

    /// <summary>Milliseconds from sending the request to the first byte of the response body.</summary>
    public static async Task<double> FirstAudio(HttpClient client, string text)
    {
        var started = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/synthesize") { Content = System.Net.Http.Json.JsonContent.Create(new { text }) };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[16 * 1024];
        if (await stream.ReadAsync(buffer) == 0)
        {
            throw new InvalidOperationException("empty answer");
        }

        var first = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        while (await stream.ReadAsync(buffer) > 0)
        {
        }

        return first;
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
    }
}
