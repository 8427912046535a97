using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;

namespace MitTts.Bench.Load;

/// <summary>What the soak's clients have done so far: requests completed (with their audio), seconds of that audio, failures and 429s.</summary>
internal readonly record struct SoakCounters(long Requests, double AudioSeconds, long Failures, long Busy);

/// <summary>The soak's load: closed-loop REST clients (mostly <c>?wait=true</c>, some submit → poll → fetch the audio) and WebSocket sessions
/// streaming short answers back to back, each session replaced by a new one every <see cref="AnswersPerSession"/> answers.</summary>
/// <remarks>A busy refusal (HTTP 429, or a task's <c>busy</c> error on the socket) is admission control: it is counted apart and the request
/// is sent again after its Retry-After. Anything else that is not audio is a failure, counted by its code. Stopping lets requests in flight finish.</remarks>
internal sealed class SoakLoad(Uri server, int restClients, int webSocketSessions)
{
    public const double PollShare = 0.2;
    public const int AnswersPerSession = 20;
    public const int PollIntervalMs = 250;

    /// <summary>REST formats and their shares: WAV 40%, PCM 35%, MP3 25%.</summary>
    public static readonly (string Format, double Share)[] RestFormats = [("wav", 0.40), ("pcm", 0.35), ("mp3", 0.25)];

    /// <summary>WebSocket formats: PCM 75%, MP3 25%.</summary>
    public static readonly (string Format, double Share)[] StreamFormats = [("pcm", 0.75), ("mp3", 0.25)];

    public static readonly string[] Voices = ["en-male-1", "en-female-1", "en-male-2"];

    /// <summary>How long an answer may take: the server's own <c>?wait=true</c> limit is 120 s.</summary>
    private static readonly TimeSpan s_answerTimeout = TimeSpan.FromSeconds(150);

    private readonly ConcurrentDictionary<string, int> _failures = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _completed = new(StringComparer.Ordinal);
    private long _requests;
    private long _audioMicroseconds;
    private long _failed;
    private long _busy;

    public SoakCounters Counters => new(Interlocked.Read(ref _requests), Interlocked.Read(ref _audioMicroseconds) / 1e6, Interlocked.Read(ref _failed), Interlocked.Read(ref _busy));

    /// <summary>Failures by code, e.g. <c>wait: HTTP 503 dispatch_failed</c>, <c>ws: status error engine_failed</c>, <c>poll: timeout</c>.</summary>
    public IReadOnlyDictionary<string, int> Failures => _failures;

    /// <summary>Answers completed by kind: <c>REST wait</c>, <c>REST poll</c>, <c>WebSocket</c>.</summary>
    public IReadOnlyDictionary<string, long> Completed => _completed;

    /// <summary>Runs every client until <paramref name="stop"/>, then until their requests in flight have finished.</summary>
    public async Task Run(CancellationToken stop)
    {
        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
        {
            BaseAddress = server,
            Timeout = s_answerTimeout,
        };
        var rest = Enumerable.Range(0, restClients).Select(worker => Task.Run(() => RestClient(http, worker, stop)));
        var sockets = Enumerable.Range(0, webSocketSessions).Select(worker => Task.Run(() => StreamSessions(worker, stop)));
        await Task.WhenAll(rest.Concat(sockets));
    }

    private async Task RestClient(HttpClient http, int worker, CancellationToken stop)
    {
        var random = new Random(worker);
        while (!stop.IsCancellationRequested)
        {
            var body = new
            {
                text = AgentTexts.Next(random),
                voice_id = Voices[random.Next(Voices.Length)],
                format = Pick(RestFormats, random),
            };
            var poll = random.NextDouble() < PollShare;
            var kind = poll ? "poll" : "wait";
            try
            {
                if (poll)
                {
                    await SubmitAndPoll(http, body, stop);
                }
                else
                {
                    await SubmitAndWait(http, body, stop);
                }
            }
            catch (TaskCanceledException)
            {
                Fail($"{kind}: timeout");
            }
            catch (HttpRequestException e)
            {
                Fail($"{kind}: {e.HttpRequestError}");
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                Fail($"{kind}: unreadable answer");
            }
        }
    }

    private async Task SubmitAndWait(HttpClient http, object body, CancellationToken stop)
    {
        using var response = await Submit(http, "/api/v1/synthesize?wait=true", body, stop);
        if (response is null)
        {
            return;
        }

        if (await Audio(response, "wait") is { } seconds)
        {
            Complete("REST wait", seconds);
        }
    }

    /// <summary><c>POST /synthesize</c> (the result is stored), <c>GET /tasks/{id}</c> until it completed, then <c>GET</c> its <c>audio_url</c>.</summary>
    private async Task SubmitAndPoll(HttpClient http, object body, CancellationToken stop)
    {
        string taskId;
        using (var submitted = await Submit(http, "/api/v1/synthesize", body, stop))
        {
            if (submitted is null)
            {
                return;
            }

            if (!submitted.IsSuccessStatusCode)
            {
                await Fail("poll", submitted);
                return;
            }

            taskId = (await submitted.Content.ReadFromJsonAsync<JsonElement>(CancellationToken.None)).GetProperty("task_id").GetString()!;
        }

        var deadline = DateTime.UtcNow + s_answerTimeout;
        string? audioUrl = null;
        while (audioUrl is null)
        {
            if (DateTime.UtcNow > deadline)
            {
                Fail("poll: timeout");
                return;
            }

            await Task.Delay(PollIntervalMs, CancellationToken.None);
            using var polled = await http.GetAsync(new Uri($"/api/v1/tasks/{taskId}", UriKind.Relative), CancellationToken.None);
            if (!polled.IsSuccessStatusCode)
            {
                await Fail("poll", polled);
                return;
            }

            var task = await polled.Content.ReadFromJsonAsync<JsonElement>(CancellationToken.None);
            switch (task.GetProperty("status").GetString())
            {
                case "completed":
                    audioUrl = task.GetProperty("audio_url").GetString();
                    if (audioUrl is null)
                    {
                        // Completed, but its kept audio is already gone (audio_state "expired": evicted to make room). The server says
                        // so (410 audio_expired on the audio URL); polling on would only wait for the timeout.
                        Fail($"poll: completed, audio {(task.TryGetProperty("audio_state", out var state) ? state.GetString() : "missing")}");
                        return;
                    }

                    break;
                case "queued" or "processing":
                    break;
                case var status:
                    var code = task.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object ? error.GetProperty("code").GetString() : null;
                    Fail($"poll: task {status} {code}".TrimEnd());
                    return;
            }
        }

        using var audio = await http.GetAsync(new Uri(audioUrl, UriKind.Relative), CancellationToken.None);
        if (await Audio(audio, "audio") is { } seconds)
        {
            Complete("REST poll", seconds);
        }
    }

    /// <summary>POSTs <paramref name="body"/>, sending it again after each 429's Retry-After; null when the load stopped during such a wait.</summary>
    private async Task<HttpResponseMessage?> Submit(HttpClient http, string path, object body, CancellationToken stop)
    {
        while (true)
        {
            var response = await http.PostAsJsonAsync(path, body, CancellationToken.None);
            if (response.StatusCode != HttpStatusCode.TooManyRequests)
            {
                return response;
            }

            Interlocked.Increment(ref _busy);
            var retryAfter = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
            response.Dispose();
            if (!await Wait(retryAfter, stop))
            {
                return null;
            }
        }
    }

    /// <summary>The audio's seconds (its <c>X-Audio-Duration</c>) when the answer is audio; otherwise counts the failure and gives null.</summary>
    private async Task<double?> Audio(HttpResponseMessage response, string kind)
    {
        if (!response.IsSuccessStatusCode)
        {
            await Fail(kind, response);
            return null;
        }

        var bytes = await response.Content.ReadAsByteArrayAsync();
        if (bytes.Length == 0)
        {
            Fail($"{kind}: empty audio");
            return null;
        }

        return response.Headers.TryGetValues("X-Audio-Duration", out var values)
            && double.TryParse(values.First(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) ? seconds : 0;
    }

    /// <summary>Sessions one after another, each for <see cref="AnswersPerSession"/> answers (the first for fewer, so turnovers spread out).</summary>
    private async Task StreamSessions(int worker, CancellationToken stop)
    {
        var random = new Random(10_000 + worker);
        var answers = random.Next(1, AnswersPerSession + 1);
        while (!stop.IsCancellationRequested)
        {
            StreamClient client;
            try
            {
                client = await StreamClient.Open(server);
            }
            catch (Exception e) when (e is WebSocketException or TimeoutException or EndOfStreamException or OperationCanceledException)
            {
                Fail($"ws: connect {e.GetType().Name}");
                await Wait(TimeSpan.FromSeconds(1), stop);
                continue;
            }

            await using (client)
            {
                for (var i = 0; i < answers && !stop.IsCancellationRequested; i++)
                {
                    var message = StreamClient.Synthesize(AgentTexts.Next(random), Pick(StreamFormats, random), voice: Voices[random.Next(Voices.Length)]);
                    if (!await StreamAnswer(client, message, stop))
                    {
                        break;
                    }
                }
            }

            answers = AnswersPerSession;
        }
    }

    /// <summary>One streamed answer, until its task's final status; false when the session should be replaced (its socket failed).</summary>
    private async Task<bool> StreamAnswer(StreamClient client, string message, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await client.Send(message);
                var end = await client.ReceiveUntil(m => m.Type == "error" || (m.Type == "status" && m.Status is "completed" or "error" or "cancelled"), s_answerTimeout);
                if (end.Code == "busy")
                {
                    Interlocked.Increment(ref _busy);
                    if (!await Wait(TimeSpan.FromSeconds(end.RetryAfter ?? 1), stop))
                    {
                        return true;
                    }

                    continue;
                }

                if (end is { Type: "status", Status: "completed" })
                {
                    Complete("WebSocket", (end.DurationMs ?? 0) / 1000.0);
                }
                else
                {
                    Fail(end.Type == "error" ? $"ws: error {end.Code}" : $"ws: status {end.Status} {end.Code}".TrimEnd());
                }

                return true;
            }
        }
        catch (TimeoutException)
        {
            Fail("ws: timeout");
        }
        catch (Exception e) when (e is EndOfStreamException or WebSocketException)
        {
            Fail($"ws: socket {e.GetType().Name}");
        }

        return false;
    }

    private static string Pick((string Format, double Share)[] formats, Random random)
    {
        var draw = random.NextDouble();
        foreach (var (format, share) in formats)
        {
            if ((draw -= share) < 0)
            {
                return format;
            }
        }

        return formats[^1].Format;
    }

    /// <summary>Waits unless the load stops first; false when it stopped.</summary>
    private static async Task<bool> Wait(TimeSpan delay, CancellationToken stop)
    {
        try
        {
            await Task.Delay(delay, stop);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void Complete(string kind, double audioSeconds)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _audioMicroseconds, (long)(audioSeconds * 1e6));
        _completed.AddOrUpdate(kind, 1, (_, n) => n + 1);
    }

    private async Task Fail(string kind, HttpResponseMessage response)
    {
        string? code = null;
        try
        {
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            code = problem.RootElement.TryGetProperty("code", out var value) ? value.GetString() : null;
        }
        catch (JsonException)
        {
        }

        Fail(string.Create(CultureInfo.InvariantCulture, $"{kind}: HTTP {(int)response.StatusCode} {code}").TrimEnd());
    }

    private void Fail(string code)
    {
        Interlocked.Increment(ref _failed);
        _failures.AddOrUpdate(code, 1, (_, n) => n + 1);
    }
}
