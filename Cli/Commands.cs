using System.Diagnostics;
using System.Globalization;

namespace MitTts.Cli;

/// <summary>What each command does, given a connected client.</summary>
public static class Commands
{
    private const int BenchSampleRate = 22050;

    private static readonly string[] s_benchTexts =
    [
        "Hola, ¿en qué puedo ayudarte hoy?",
        "Tu pedido llegará mañana por la tarde.",
        "Claro, te lo explico en un momento.",
        "Perfecto, he reservado la mesa para las nueve.",
    ];

    public static async Task<int> Say(ServerClient client, string text, Dictionary<string, object?> request, string? output, bool quiet, TextWriter error, CancellationToken cancel)
    {
        await using var session = await client.Connect(cancel);
        request["text"] = text;
        await using var target = AudioOutput.Open(output, whole: true);
        var bytes = await new Speaker(session, error).Speak(request, target.Stream, showProgress: !quiet, cancel);
        await target.Commit(cancel);

        if (!quiet)
        {
            await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes{(output is null or "-" ? string.Empty : " → " + output)}"));
        }

        return 0;
    }

    public static async Task<int> Voices(ServerClient client, string? language, TextWriter output, CancellationToken cancel)
    {
        foreach (var voice in await client.Voices(language, cancel))
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{voice!["id"],-16} {voice["language"],-4} {voice["gender"],-8} {voice["engine"],-10} {voice["sample_rate"],6} Hz  {voice["name"]}"));
        }

        return 0;
    }

    /// <summary>Each line of <paramref name="input"/> spoken as it arrives, one continuous stream out (so only formats that join: pcm, mp3).
    /// A line the server refuses (or whose task fails) is reported and skipped, and the exit code says some were (1); an error that
    /// names no request (the session's audio can no longer be whole) stops at once.</summary>
    public static async Task<int> Stream(ServerClient client, TextReader input, Dictionary<string, object?> request, string? output, TextWriter error, CancellationToken cancel)
    {
        request.TryAdd("format", "pcm");
        if (request["format"] is not ("pcm" or "mp3"))
        {
            await error.WriteLineAsync("mittts stream: one continuous stream needs -f pcm (default) or -f mp3.");
            return 2;
        }

        await using var session = await client.Connect(cancel);
        await using var target = AudioOutput.Open(output, whole: false);
        var speaker = new Speaker(session, error);
        var refused = 0;
        var number = 0;
        while (await input.ReadLineAsync(cancel) is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            request["text"] = line;
            try
            {
                await speaker.Speak(request, target.Stream, showProgress: false, cancel);
            }
            catch (ServerException e) when (e.OfRequest)
            {
                refused++;
                await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"mittts: line {number} not spoken: {e.Message}"));
            }
        }

        await target.Commit(cancel);
        return refused == 0 ? 0 : 1;
    }

    /// <summary>First audio over one session, one request at a time; then throughput with <paramref name="concurrency"/> sessions.</summary>
    public static async Task<int> Bench(ServerClient client, int requests, int concurrency, string? voice, TextWriter output, CancellationToken cancel)
    {
        requests = Math.Max(1, requests);
        concurrency = Math.Clamp(concurrency, 1, requests);
        var firstAudio = new List<double>(requests);
        await using (var session = await client.Connect(cancel))
        {
            var speaker = new Speaker(session, TextWriter.Null);
            for (var i = 0; i < requests; i++)
            {
                var sent = Stopwatch.GetTimestamp();
                double? first = null;
                await speaker.Speak(Request(i, voice), System.IO.Stream.Null, showProgress: false, cancel, () => first = Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
                firstAudio.Add(first ?? throw new ServerException("no_audio", "a bench request completed without audio"));
            }
        }

        firstAudio.Sort();
        var clock = Stopwatch.StartNew();
        long audioBytes = 0;
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            await using var session = await client.Connect(cancel);
            var speaker = new Speaker(session, TextWriter.Null);
            while (Interlocked.Increment(ref next) < requests)
            {
                Interlocked.Add(ref audioBytes, await speaker.Speak(Request(next, voice), System.IO.Stream.Null, showProgress: false, cancel));
            }
        }));
        var seconds = clock.Elapsed.TotalSeconds;
        var audioSeconds = audioBytes / (2.0 * BenchSampleRate);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"first audio ({requests} requests, 1 session): p50 {Percentile(firstAudio, 0.50):0.0} ms, p99 {Percentile(firstAudio, 0.99):0.0} ms"));
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"throughput ({requests} requests, {concurrency} sessions): {requests / seconds:0.0} requests/s, {audioSeconds / seconds:0.0} audio-s/s ({audioSeconds:0.0} s of audio in {seconds:0.00} s)"));
        return 0;
    }

    private static Dictionary<string, object?> Request(int i, string? voice)
    {
        // A number of its own in every text, so the server's audio cache cannot answer: the bench measures synthesis.
        var text = string.Create(CultureInfo.InvariantCulture, $"{s_benchTexts[i % s_benchTexts.Length]} Referencia {Random.Shared.Next(100_000)}.");
        var request = new Dictionary<string, object?> { ["text"] = text, ["format"] = "pcm", ["sample_rate"] = BenchSampleRate };
        if (voice is not null)
        {
            request["voice_id"] = voice;
        }

        return request;
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}
