using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MitTts.Speech.Audio;
using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Espeak;

namespace MitTts.Bench.Load;

/// <summary>Mixed load that saturates the one engine slot (80% NORMAL, 15% HIGH, 5% CRITICAL) and the wait time per level,
/// next to the raw engine's time for one sentence measured in the same run.</summary>
public sealed class SchedulingScenario(HttpClient client, double seconds, double overload)
{
    private const string Voice = "en-male-1";
    private const string EngineVoice = "en-us";

    private static readonly string[] s_sentences =
    [
        "The quick brown fox jumps over the lazy dog.",
        "Please hold while I look up your account details.",
        "Your order will arrive on Tuesday between nine and five.",
        "I can help you with that, would you like me to continue?",
        "The weather tomorrow will be sunny with a light breeze.",
        "Thanks for calling, is there anything else I can do for you today?",
    ];

    public async Task<string> Run()
    {
        ISpeechEngine engine = new EspeakEngine();
        var sentenceMs = await MeasureRawSentences(engine);
        var charactersPerSecond = await MeasureRawThroughput(engine);

        var serverCharactersPerSecond = await MeasureServerThroughput();

        // Arrivals at `overload` times the server's measured capacity keep the queue non-empty for the whole run.
        var random = new Random(42);
        var averageCharacters = 2 * s_sentences.Average(s => s.Length + 1);
        var interval = TimeSpan.FromSeconds(averageCharacters / (serverCharactersPerSecond * overload));
        var submitted = new List<(string TaskId, string Priority)>();
        var refused = 0;
        var pending = new List<Task>();
        var clock = Stopwatch.StartNew();
        var next = TimeSpan.Zero;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            var priority = random.NextDouble() switch { < 0.05 => "critical", < 0.20 => "high", _ => "normal" };
            var text = string.Join(' ', Enumerable.Range(0, 1 + random.Next(3)).Select(_ => s_sentences[random.Next(s_sentences.Length)]));
            pending.Add(Submit(text, priority));
            next += interval;
            var ahead = next - clock.Elapsed;
            if (ahead > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(ahead);
            }
        }

        await Task.WhenAll(pending);
        var waits = new Dictionary<string, List<double>> { ["critical"] = [], ["high"] = [], ["normal"] = [] };
        foreach (var (taskId, priority) in submitted)
        {
            var task = await WaitFinished(taskId);
            var created = task.GetProperty("created_at").GetDateTimeOffset();
            var started = task.GetProperty("started_at").GetDateTimeOffset();
            waits[priority].Add((started - created).TotalMilliseconds);
        }

        return Report(waits, sentenceMs, charactersPerSecond, serverCharactersPerSecond, refused, submitted.Count);

        async Task Submit(string text, string priority)
        {
            var response = await client.PostAsJsonAsync("/api/v1/synthesize", new { text, voice_id = Voice, priority, format = "pcm" });
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Interlocked.Increment(ref refused);
                return;
            }

            response.EnsureSuccessStatusCode();
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            lock (submitted)
            {
                submitted.Add((body.GetProperty("task_id").GetString()!, priority));
            }
        }
    }

    private async Task<JsonElement> WaitFinished(string taskId)
    {
        while (true)
        {
            var task = await client.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{taskId}");
            if (task.GetProperty("status").GetString() is "completed" or "error" or "cancelled")
            {
                return task;
            }

            await Task.Delay(100);
        }
    }

    private static async Task<Percentiles> MeasureRawSentences(ISpeechEngine engine)
    {
        var times = new List<double>();
        for (var round = 0; round < 20; round++)
        {
            foreach (var sentence in s_sentences)
            {
                using var pcm = new PcmBuffer();
                var started = Stopwatch.GetTimestamp();
                await engine.SynthesizeAsync(new SpeechRequest(sentence, EngineVoice), pcm);
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }

        return Percentiles.Of(times);
    }

    private static async Task<double> MeasureRawThroughput(ISpeechEngine engine)
    {
        var characters = 0;
        var started = Stopwatch.GetTimestamp();
        for (var round = 0; round < 10; round++)
        {
            foreach (var sentence in s_sentences)
            {
                using var pcm = new PcmBuffer();
                await engine.SynthesizeAsync(new SpeechRequest(sentence, EngineVoice), pcm);
                characters += sentence.Length;
            }
        }

        return characters / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    /// <summary>Closed loop: 8 clients each send a two-sentence request with wait=true, back to back, for 3 seconds.</summary>
    private async Task<double> MeasureServerThroughput()
    {
        var text = s_sentences[0] + " " + s_sentences[1];
        var characters = 0L;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(3))
            {
                using var response = await client.PostAsJsonAsync("/api/v1/synthesize?wait=true", new { text, voice_id = Voice, format = "pcm" });
                response.EnsureSuccessStatusCode();
                Interlocked.Add(ref characters, text.Length);
            }
        }));
        return characters / clock.Elapsed.TotalSeconds;
    }

    private string Report(Dictionary<string, List<double>> waits, Percentiles sentence, double charactersPerSecond, double serverCharactersPerSecond, int refused, int accepted)
    {
        var critical = Percentiles.Of(waits["critical"]);
        var high = Percentiles.Of(waits["high"]);
        var normal = Percentiles.Of(waits["normal"]);
        var text = new StringBuilder();
        var culture = CultureInfo.InvariantCulture;
        text.AppendLine(culture, $"### Scheduling under mixed load ({seconds:0} s of arrivals at {overload:0.0}x the server's measured capacity)");
        text.AppendLine();
        text.AppendLine(culture, $"Raw espeak-ng in this run: one sentence p50 {sentence.P50:0.00} ms, p99 {sentence.P99:0.00} ms; {charactersPerSecond:0} characters/s.");
        text.AppendLine(culture, $"Server capacity (8 clients, REST, wait=true): {serverCharactersPerSecond:0} characters/s = {serverCharactersPerSecond / charactersPerSecond:P0} of the raw engine.");
        text.AppendLine(culture, $"Accepted {accepted} tasks, refused {refused} with 429 busy.");
        text.AppendLine();
        text.AppendLine("| level | tasks | wait p50 ms | wait p95 ms | wait p99 ms | max ms | p99 / raw sentence p50 |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var (name, p) in new[] { ("CRITICAL", critical), ("HIGH", high), ("NORMAL", normal) })
        {
            text.AppendLine(culture, $"| {name} | {p.Count} | {p.P50:0.0} | {p.P95:0.0} | {p.P99:0.0} | {p.Max:0.0} | {p.P99 / sentence.P50:0.0}x |");
        }

        text.AppendLine();
        text.AppendLine(culture, $"Targets: CRITICAL p99 wait ≤ one sentence of synthesis (raw p99 {sentence.P99:0.00} ms): {(critical.P99 <= sentence.P99 ? "met" : "NOT met")}; HIGH p99 below NORMAL p50: {(high.P99 < normal.P50 ? "met" : "NOT met")}.");
        return text.ToString();
    }
}
