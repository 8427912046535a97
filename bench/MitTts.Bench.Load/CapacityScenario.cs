using System.Diagnostics;
using System.Globalization;

namespace MitTts.Bench.Load;

/// <summary>Issue 7 scenario 3: how many real-time streams the server holds with no underrun. Each stream is a session that plays
/// its audio at 1x wall-clock (the audio's own duration) and asks for the next sentence when its buffer falls below the look-ahead,
/// as an agent feeding an LLM's sentences would; an underrun is a moment its buffer ran dry after playback started.</summary>
internal sealed class CapacityScenario(Uri server, BenchOptions options, ResultTable table)
{
    private const int Mp3Kbps = 64;

    private static readonly string[] s_sentences =
    [
        "The quick brown fox jumps over the lazy dog.",
        "Please hold while I look up your account details.",
        "Your order will arrive on Tuesday between nine and five.",
        "I can help you with that, would you like me to continue?",
        "The weather tomorrow will be sunny with a light breeze.",
        "Thanks for calling, is there anything else I can do for you today?",
    ];

    private readonly List<StreamClient> _pool = [];

    public async Task Run()
    {
        try
        {
            foreach (var format in new[] { "pcm", "mp3", "ogg" })
            {
                await Search(format);
            }
        }
        finally
        {
            await Task.WhenAll(_pool.Select(c => c.DisposeAsync().AsTask()));
        }

        table.Note($"Capacity: each trial runs N streams for {options.CapacitySeconds:0} s (starts spread over 0.5 s); a stream asks for its next sentence "
            + $"(~3 s of speech) when less than {options.LookaheadMs} ms of audio is left in its buffer, plays at 1x, and counts underruns. "
            + "N doubles from half the raw figure until a trial fails, then bisects. Reference: espeak-ng + that format's stream encoder "
            + "on the engine thread in this process, in seconds of audio per second (the server's engine and encoder also run on one thread); "
            + $"ratio = streams held / raw audio-seconds per second. MP3 at {Mp3Kbps} kbps; Opus at the server's default bitrate.");
    }

    private async Task Search(string format)
    {
        var rawBefore = await RawEngine.Throughput(s_sentences, format, TimeSpan.FromSeconds(2), format == "mp3" ? Mp3Kbps : null);
        int held = 0, failed = int.MaxValue;
        var streams = Math.Max(2, (int)(rawBefore / 2));
        var log = new List<string>();
        Trial? best = null;
        for (var trialIndex = 0; trialIndex < options.CapacityMaxTrials && streams <= options.CapacityMax; trialIndex++)
        {
            var trial = await RunTrial(format, streams);
            log.Add(string.Create(CultureInfo.InvariantCulture, $"{streams}: {(trial.Passed ? "ok" : $"{trial.Underruns} underruns in {trial.StreamsWithUnderruns} streams, {trial.Errors} errors")}"));
            Console.Error.WriteLine($"capacity {format}: {log[^1]}");
            if (trial.Passed)
            {
                held = streams;
                best = trial;
            }
            else
            {
                failed = streams;
            }

            var next = failed == int.MaxValue ? streams * 2 : (held + failed) / 2;
            if (next == held || next == failed || (failed != int.MaxValue && failed - held <= Math.Max(1, held / 10)))
            {
                break;
            }

            streams = next;
        }

        var rawAfter = await RawEngine.Throughput(s_sentences, format, TimeSpan.FromSeconds(2), format == "mp3" ? Mp3Kbps : null);
        var raw = (rawBefore + rawAfter) / 2;
        var name = format switch { "pcm" => "PCM", "mp3" => "MP3", _ => "Opus (ogg)" };
        var ratio = held / raw;
        table.Figure("3. capacity", $"real-time streams, {name}",
            string.Create(CultureInfo.InvariantCulture, $"{held} streams"),
            string.Create(CultureInfo.InvariantCulture, $"raw {raw:0} audio-s/s (before {rawBefore:0}, after {rawAfter:0})"),
            ratio.ToString("P0", CultureInfo.InvariantCulture), "≥ 80% of raw", ratio >= 0.8);
        table.Note($"Capacity {name} trials (streams: result): {string.Join("; ", log)}"
            + (best is { } b ? string.Create(CultureInfo.InvariantCulture, $"; at {held} streams first audio p50 {b.FirstAudio.P50:0} ms, p99 {b.FirstAudio.P99:0} ms.") : "."));
    }

    private async Task<Trial> RunTrial(string format, int streams)
    {
        while (_pool.Count < streams)
        {
            var batch = Math.Min(50, streams - _pool.Count);
            _pool.AddRange(await Task.WhenAll(Enumerable.Range(0, batch).Select(_ => StreamClient.Open(server, keepAudio: true))));
        }

        var results = await Task.WhenAll(_pool.Take(streams).Select((client, index) => Stream(client, format, new Random(index))));
        return new Trial(
            results.All(r => r.Underruns == 0 && !r.Failed),
            results.Sum(r => r.Underruns),
            results.Count(r => r.Underruns > 0),
            results.Count(r => r.Failed),
            Percentiles.Of(results.Where(r => !double.IsNaN(r.FirstAudioMs)).Select(r => r.FirstAudioMs).ToList()));
    }

    private async Task<StreamResult> Stream(StreamClient client, string format, Random random)
    {
        await Task.Delay(random.Next(500));
        var clock = AudioClock.For(format, RawEngine.SampleRate, Mp3Kbps);
        var frequency = (double)Stopwatch.Frequency;
        var began = Stopwatch.GetTimestamp();
        var end = began + (long)(options.CapacitySeconds * frequency);
        long playStart = 0;
        double received = 0;
        var underruns = 0;
        var firstAudioMs = double.NaN;
        var lookahead = options.LookaheadMs / 1000.0;
        try
        {
            for (var i = random.Next(s_sentences.Length); ; i++)
            {
                // Wait until the buffer runs low (or the trial is over) before asking for more, as a paced agent would.
                while (playStart != 0)
                {
                    var left = received - ((Stopwatch.GetTimestamp() - playStart) / frequency);
                    if (left < lookahead || Stopwatch.GetTimestamp() >= end)
                    {
                        break;
                    }

                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(left - lookahead, (end - Stopwatch.GetTimestamp()) / frequency) + 0.001));
                }

                if (Stopwatch.GetTimestamp() >= end)
                {
                    break;
                }

                var sent = await client.Send(StreamClient.Synthesize(s_sentences[i % s_sentences.Length], format, bitrate: format == "mp3" ? Mp3Kbps : null));
                var queued = await client.ReceiveUntil(m => m.Type is "status" or "error");
                var taskId = queued.TaskId ?? throw new InvalidOperationException("refused");
                while (true)
                {
                    var message = await client.Receive(TimeSpan.FromSeconds(60));
                    if (message.IsEndOf(taskId))
                    {
                        if (message.Status != "completed")
                        {
                            throw new InvalidOperationException($"task ended {message.Status} {message.Code}");
                        }

                        break;
                    }

                    var seconds = message.IsAudio ? clock.Feed(message.Audio) : 0;
                    if (seconds <= 0)
                    {
                        continue;
                    }

                    if (playStart == 0)
                    {
                        playStart = message.At;
                        firstAudioMs = Stopwatch.GetElapsedTime(sent, message.At).TotalMilliseconds;
                    }
                    else if ((message.At - playStart) / frequency > received)
                    {
                        // Ran dry: the player stalls and resumes now.
                        underruns++;
                        playStart = message.At - (long)(received * frequency);
                    }

                    received += seconds;
                }
            }

            // At the end of the trial the buffer must still hold audio.
            if (playStart != 0 && (end - playStart) / frequency > received)
            {
                underruns++;
            }

            return new StreamResult(underruns, false, firstAudioMs);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or EndOfStreamException)
        {
            Console.Error.WriteLine($"capacity stream failed: {e.Message}");
            return new StreamResult(underruns, true, firstAudioMs);
        }
    }

    private sealed record StreamResult(int Underruns, bool Failed, double FirstAudioMs);

    private sealed record Trial(bool Passed, int Underruns, int StreamsWithUnderruns, int Errors, Percentiles FirstAudio);
}
