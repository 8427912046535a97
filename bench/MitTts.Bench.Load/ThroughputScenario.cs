using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;

namespace MitTts.Bench.Load;

/// <summary>Issue 7 scenario 4: seconds of audio per wall second over REST (<c>POST /api/v1/synthesize?wait=true</c>, PCM) with
/// <see cref="BenchOptions.Clients"/> concurrent clients, each sending its next request when the last one answered.</summary>
internal sealed class ThroughputScenario(Uri server, BenchOptions options, ResultTable table)
{
    public static readonly string[] Texts =
    [
        "Sure, I can help you with that. Let me check your account.",
        "Your appointment is confirmed for Tuesday at nine. Is there anything else?",
        "Thanks, I have updated your address. You will get an email shortly.",
        "One moment, please. I am looking up the nearest store for you.",
    ];

    /// <summary>What a closed-loop load measured: audio seconds per wall second, requests, failures.</summary>
    public sealed record Load(double AudioSecondsPerSecond, int Requests, int Failures)
    {
        public double SuccessRate => Requests == 0 ? 0 : (Requests - Failures) / (double)Requests;
    }

    public async Task<Load> Run()
    {
        using var client = NewClient(server);
        await Measure(client, 8, TimeSpan.FromSeconds(1));
        var rawBefore = await RawEngine.Throughput(Texts, "pcm", TimeSpan.FromSeconds(options.ThroughputSeconds / 2));
        var load = await Measure(client, options.Clients, TimeSpan.FromSeconds(options.ThroughputSeconds));
        var rawAfter = await RawEngine.Throughput(Texts, "pcm", TimeSpan.FromSeconds(options.ThroughputSeconds / 2));
        var raw = (rawBefore + rawAfter) / 2;
        var culture = CultureInfo.InvariantCulture;
        table.Figure("4. throughput (REST)", $"{options.Clients} clients, audio-s per s",
            string.Create(culture, $"{load.AudioSecondsPerSecond:0} audio-s/s"),
            string.Create(culture, $"raw engine {raw:0} audio-s/s (before {rawBefore:0}, after {rawAfter:0})"),
            (load.AudioSecondsPerSecond / raw).ToString("P0", culture), "≥ 75% of raw", load.AudioSecondsPerSecond >= 0.75 * raw);
        table.Figure("4. throughput (REST)", $"{options.Clients} clients, success rate",
            load.SuccessRate.ToString("P2", culture), "–", string.Create(culture, $"{load.Requests} requests, {load.Failures} failed"), "100%", load.Failures == 0);
        return load;
    }

    public static HttpClient NewClient(Uri baseAddress) => new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromMinutes(2),
    };

    /// <summary><paramref name="clients"/> closed-loop clients for <paramref name="duration"/>; PCM bytes give the audio's length.</summary>
    public static async Task<Load> Measure(HttpClient client, int clients, TimeSpan duration, string path = "/api/v1/synthesize?wait=true", int headerBytes = 0)
    {
        long bytes = 0;
        int requests = 0, failures = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(worker => Task.Run(async () =>
        {
            for (var i = worker; clock.Elapsed < duration; i++)
            {
                Interlocked.Increment(ref requests);
                try
                {
                    using var response = await client.PostAsJsonAsync(path, new { text = Texts[i % Texts.Length], voice_id = "en-male-1", format = "pcm" });
                    var body = await response.Content.ReadAsByteArrayAsync();
                    if (!response.IsSuccessStatusCode || body.Length <= headerBytes)
                    {
                        Interlocked.Increment(ref failures);
                        continue;
                    }

                    Interlocked.Add(ref bytes, body.Length - headerBytes);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })));
        var elapsed = clock.Elapsed.TotalSeconds;
        return new Load(bytes / 2.0 / RawEngine.SampleRate / elapsed, requests, failures);
    }
}
