using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MitTts.Tests.Support;

namespace MitTts.Tests.Playground;

/// <summary>Debian's chromium, headless, driven over the DevTools protocol (a WebSocket of JSON commands): navigate, evaluate, screenshot.</summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _devtools = new();
    private int _nextId;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    public static async Task<HeadlessChromium> Start()
    {
        var port = FreePort.Next();
        var profile = Directory.CreateTempSubdirectory("mittts-chromium-").FullName;
        var start = new ProcessStartInfo(File.Exists("/usr/bin/chromium") ? "/usr/bin/chromium" : "chromium")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     "--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=900,1300", "--disable-dev-shm-usage", "--no-first-run",
                     "--autoplay-policy=no-user-gesture-required", $"--remote-debugging-port={port}", $"--user-data-dir={profile}", "about:blank",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var browser = new HeadlessChromium(process, profile);
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                var targets = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list"))!.AsArray();
                if (targets.FirstOrDefault(t => t!["type"]!.GetValue<string>() == "page") is { } page)
                {
                    await browser._devtools.ConnectAsync(new Uri(page["webSocketDebuggerUrl"]!.GetValue<string>()), CancellationToken.None);
                    return browser;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                // Not listening yet.
            }

            Assert.True(DateTime.UtcNow < deadline && !process.HasExited, "chromium did not start");
            await Task.Delay(100);
        }
    }

    public Task Navigate(Uri url) => Send("Page.navigate", new JsonObject { ["url"] = url.ToString() });

    /// <summary>Evaluates JavaScript in the page (promises awaited) and returns its value as JSON.</summary>
    public async Task<JsonNode?> Evaluate(string expression)
    {
        var result = await Send("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["awaitPromise"] = true, ["returnByValue"] = true });
        if (result["exceptionDetails"] is { } exception)
        {
            throw new InvalidOperationException("The page threw: " + exception.ToJsonString());
        }

        return result["result"]?["value"];
    }

    /// <summary>Polls <paramref name="condition"/> (a JavaScript expression) until it is true.</summary>
    public async Task WaitFor(string condition, TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(30));
        while ((await Evaluate($"Boolean({condition})"))?.GetValue<bool>() != true)
        {
            Assert.True(DateTime.UtcNow < deadline, $"waited in vain for {condition}; page state: {(await Evaluate("JSON.stringify({stats: window.mittts && window.mittts.stats, state: document.getElementById('state')?.textContent, error: document.getElementById('error')?.textContent})"))}");
            await Task.Delay(50);
        }
    }

    public async Task<byte[]> Screenshot() =>
        Convert.FromBase64String((await Send("Page.captureScreenshot", new JsonObject { ["format"] = "png" }))["data"]!.GetValue<string>());

    public async ValueTask DisposeAsync()
    {
        _devtools.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // chromium's helpers may still hold a file a moment longer; it is a temp folder.
        }
    }

    private async Task<JsonObject> Send(string method, JsonObject parameters)
    {
        var id = Interlocked.Increment(ref _nextId);
        var command = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _devtools.SendAsync(Encoding.UTF8.GetBytes(command.ToJsonString()), WebSocketMessageType.Text, true, timeout.Token);
        var buffer = new byte[1 << 20];
        while (true)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult result;
            do
            {
                result = await _devtools.ReceiveAsync(buffer, timeout.Token);
                message.Write(buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);

            var reply = JsonNode.Parse(message.ToArray())!.AsObject();
            if (reply["id"]?.GetValue<int>() != id)
            {
                continue; // an event, or another command's reply
            }

            if (reply["error"] is { } error)
            {
                throw new InvalidOperationException($"{method} failed: {error.ToJsonString()}");
            }

            return reply["result"]!.AsObject();
        }
    }
}
