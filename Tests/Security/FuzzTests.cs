using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using MitTts.Tests.Api;
using Xunit.Abstractions;

namespace MitTts.Tests.Security;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FuzzCollection
{
    public const string Name = "fuzz (alone, for its memory figure)";
}

/// <summary>Hostile input for a bounded time against REST and WebSocket (random and mutated JSON, truncated UTF-8, huge numbers, deep
/// nesting, random binary, oversize bodies and frames), while a well-behaved client keeps submitting work. Afterwards the server
/// answers well-formed requests, no answer was a 5xx, its memory is bounded, and every accepted task completed.</summary>
[Collection(FuzzCollection.Name)]
public sealed class FuzzTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_fuzzFor = TimeSpan.FromSeconds(15);

    private static readonly string[] s_seeds =
    [
        """{"text":"Hola mundo","voice_id":"es-female-1","format":"wav","priority":"high","speed":1.0,"pitch":1.0}""",
        """{"text":"Hello there.","format":"mp3","bitrate":64,"sample_rate":22050,"session_id":"s1","store":true}""",
        """{"type":"synthesize","text":"Hola","stream":true,"request_id":"r1","format":"pcm"}""",
        """{"type":"text","context_id":"c1","text":"Hola, ","voice_id":"es-female-1"}""",
        """{"type":"connect","session_id":"fuzz-1","last_sequence":3}""",
        """{"type":"interrupt","reason":"user_stop","task_id":"task_1"}""",
        """{"api_key":"alice-key"}""",
    ];

    [Fact]
    public async Task Hostile_input_leaves_the_server_serving_bounded_and_every_accepted_task_done()
    {
        // Budgets high enough that the fuzz reaches the parsers rather than the rate limiter.
        await using var gateway = await RunningGateway.Start(SecureGatewayFixture.Settings(
            "--websocket:max_message_bytes=65536", "--security:rate_limits:synthesize=1000000/minute", "--security:rate_limits:websocket=1000000/minute"));
        var token = Tokens.Mint(SecureGatewayFixture.Secret, user: "fuzzer");
        using var client = SecureGatewayFixture.WithToken(gateway.BaseAddress, Tokens.Mint(SecureGatewayFixture.Secret, user: "good"));
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/synthesize?wait=true", new { text = "calentando" })).StatusCode);
        var memoryBefore = LiveBytes();

        using var stop = new CancellationTokenSource(s_fuzzFor);
        var accepted = new List<string>();
        var serverErrors = new List<string>();
        var good = GoodClient(client, accepted, stop.Token);
        var rest = Task.WhenAll(Enumerable.Range(0, 2).Select(i => FuzzRest(gateway.BaseAddress, token, new Random(seed + i), serverErrors, stop.Token)));
        var sockets = FuzzSockets(gateway.BaseAddress, token, new Random(seed + 7), stop.Token);
        await Task.WhenAll(good, rest, sockets);

        Assert.True(serverErrors.Count == 0, "5xx answers: " + string.Join("\n", serverErrors.Take(10)));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/health")).StatusCode);
        var wait = await client.PostAsJsonAsync("/api/v1/synthesize?wait=true", new { text = "Sigo aquí.", format = "wav" });
        Assert.Equal(HttpStatusCode.OK, wait.StatusCode);
        Assert.Equal("RIFF", Encoding.ASCII.GetString((await wait.Content.ReadAsByteArrayAsync())[..4]));

        Assert.NotEmpty(accepted);
        foreach (var taskId in accepted)
        {
            Assert.Equal("completed", await FinalStatus(client, taskId));
        }

        var grown = LiveBytes() - memoryBefore;
        output.WriteLine($"{accepted.Count} good tasks; live heap grew {grown / 1048576.0:0.0} MB");
        Assert.True(grown < 128L * 1024 * 1024, $"live heap grew {grown / 1048576.0:0} MB under fuzzing");
    }

    private static long LiveBytes()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static async Task GoodClient(HttpClient client, List<string> accepted, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var response = await client.PostAsJsonAsync("/api/v1/synthesize", new { text = "Una respuesta normal.", format = "wav" }, CancellationToken.None);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            accepted.Add((await response.Content.ReadFromJsonAsync<JsonElement>(CancellationToken.None)).GetProperty("task_id").GetString()!);
            await Task.Delay(200, CancellationToken.None);
        }
    }

    private static async Task FuzzRest(Uri baseAddress, string token, Random random, List<string> serverErrors, CancellationToken stop)
    {
        using var client = SecureGatewayFixture.WithToken(baseAddress, token);
        string[] paths = ["/api/v1/synthesize", "/api/v1/synthesize?wait=true", "/api/v1/auth/token", "/api/v1/auth/refresh", "/api/v1/auth/revoke"];
        while (!stop.IsCancellationRequested)
        {
            var path = paths[random.Next(paths.Length)];
            using var content = new ByteArrayContent(Payload(random, oversize: 2 * 1024 * 1024));
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(random.Next(8) == 0 ? "text/plain" : "application/json");
            try
            {
                var response = await client.PostAsync(path, content, CancellationToken.None);
                if ((int)response.StatusCode >= 500 && response.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    var body = await response.Content.ReadAsStringAsync(CancellationToken.None);
                    lock (serverErrors)
                    {
                        serverErrors.Add($"{path} {(int)response.StatusCode}: {body}");
                    }
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException || (e is OperationCanceledException && !stop.IsCancellationRequested))
            {
                // An oversize body may be cut off by the server before it is all sent: that is the limit working.
            }
        }
    }

    private static async Task FuzzSockets(Uri baseAddress, string token, Random random, CancellationToken stop)
    {
        var uri = new UriBuilder(baseAddress) { Scheme = "ws", Path = "/ws", Query = "token=" + token }.Uri;
        while (!stop.IsCancellationRequested)
        {
            using var socket = new ClientWebSocket();
            await socket.ConnectAsync(uri, CancellationToken.None); // the server must still take new sockets
            var reading = Drain(socket);
            for (var i = 0; i < 200 && socket.State == WebSocketState.Open && !stop.IsCancellationRequested; i++)
            {
                var binary = random.Next(10) == 0;
                var payload = Payload(random, oversize: 100 * 1024);
                try
                {
                    await socket.SendAsync(payload, binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text, true, CancellationToken.None);
                }
                catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException)
                {
                    break; // closed by the server (too big, not UTF-8, flooding): a new socket
                }
            }

            socket.Abort();
            await reading;
        }
    }

    private static async Task Drain(ClientWebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while ((await socket.ReceiveAsync(buffer, CancellationToken.None)).MessageType != WebSocketMessageType.Close)
            {
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    /// <summary>One hostile body: random bytes, a mutated valid message, truncated UTF-8, huge numbers, deep nesting or an oversize one.</summary>
    private static byte[] Payload(Random random, int oversize)
    {
        var seed = s_seeds[random.Next(s_seeds.Length)];
        switch (random.Next(7))
        {
            case 0:
                var bytes = new byte[random.Next(1, 2048)];
                random.NextBytes(bytes);
                return bytes;
            case 1:
                var chars = seed.ToCharArray();
                for (var i = random.Next(1, 6); i > 0; i--)
                {
                    chars[random.Next(chars.Length)] = (char)random.Next(32, 127);
                }

                return Encoding.UTF8.GetBytes(chars);
            case 2:
                var utf8 = Encoding.UTF8.GetBytes(seed.Replace("Hola", "¡Hólá 日本語 🎙️", StringComparison.Ordinal));
                return utf8[..random.Next(1, utf8.Length)];
            case 3:
                string[] huge = ["1e309", "-1e309", "99999999999999999999999999", "-0", "1e-400", "NaN", "123456789012345678901234567890.5"];
                return Encoding.UTF8.GetBytes(seed.Replace("1.0", huge[random.Next(huge.Length)], StringComparison.Ordinal)
                    .Replace("64", huge[random.Next(huge.Length)], StringComparison.Ordinal).Replace("3}", huge[random.Next(huge.Length)] + "}", StringComparison.Ordinal));
            case 4:
                var depth = random.Next(64, 20000);
                return Encoding.UTF8.GetBytes("{\"type\":\"synthesize\",\"text\":" + new string('[', depth) + new string(']', depth) + "}");
            case 5:
                return Encoding.UTF8.GetBytes("{\"text\":\"" + new string('a', oversize + random.Next(1024)) + "\"}");
            default:
                return Encoding.UTF8.GetBytes(seed);
        }
    }

    private static async Task<string> FinalStatus(HttpClient client, string taskId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (true)
        {
            var task = await client.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{taskId}");
            var status = task.GetProperty("status").GetString()!;
            if (status is "completed" or "error" or "cancelled" || DateTime.UtcNow > deadline)
            {
                return status;
            }

            await Task.Delay(100);
        }
    }
}
