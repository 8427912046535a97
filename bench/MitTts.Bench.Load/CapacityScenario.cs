using System.Diagnostics;
using System.Globalization;

namespace MitTts.Bench.Load;

/// <summary>Issue 7 scenario 3: how many real-time streams the server holds with no underrun. Each stream is a session that plays
/// its audio at 1x wall-clock (the audio's own duration) and asks for the next sentence when its buffer falls below the look-ahead,
/// as an agent feeding an LLM's sentences would; an underrun is a moment its buffer ran dry after playback started.</summary>
/// <param name="server">The server's base address.</param>
/// <param name="options">The run's options (trial length, look-ahead, formats, limits).</param>
/// <param name="table">Where the figures and notes go.</param>
/// <param name="serverPid">The server's process when it runs on this machine: each trial then also says what CPU the server spent per
/// second of audio, in the engine's thread and in all the rest, a figure the machine's noise moves far less than a trial's outcome.</param>
internal sealed class CapacityScenario(Uri server, BenchOptions options, ResultTable table, int? serverPid = null)
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
            foreach (var format in options.CapacityFormats)
            {
                await Search(format);
            }
        }
        finally
        {
            await Task.WhenAll(_pool.Select(c => c.DisposeAsync().AsTask()));
        }

        table.Note($"Capacity: each search starts with one trial a side at its first N that is not counted (the server's JIT warms up on it); each trial runs N streams for {options.CapacitySeconds:0} s (starts spread over 0.5 s) on sockets that have spoken once before (a new one says \"Ready.\" first, then the server's CPU goes quiet); a stream asks for its next sentence "
            + $"(~3 s of speech) when less than {options.LookaheadMs} ms of audio is left in its buffer, plays at 1x, and counts underruns. "
            + "N doubles from half the raw engine's audio-s/s until a trial fails, then bisects. Reference: the same trials, taking turns with the "
            + "server's, served by espeak-ng + that format's stream encoder on the engine's one thread in this process, each buffer handed to its "
            + "stream as it is encoded (a server that costs nothing); ratio = streams the server held / streams the raw engine held. A stream draws "
            + "more than 1 audio-s/s over a trial (its buffer fills at the start and holds up to one sentence more at the end), so streams per raw "
            + $"audio-s/s, the ratio reported before, stays below 100 % even for the raw engine; it is in the trial notes. MP3 at {Mp3Kbps} kbps; "
            + "Opus at the server's default bitrate.");
    }

    private async Task Search(string format)
    {
        var bitrate = format == "mp3" ? Mp3Kbps : (int?)null;
        var rawBefore = await RawEngine.Throughput(s_sentences, format, TimeSpan.FromSeconds(2), bitrate);
        var first = Math.Max(2, (int)(rawBefore / 2));
        var served = new Bisection(first, options);
        var rawStreams = new Bisection(first, options);

        // One trial a side at the first N, not counted. The server's first burst at scale runs code the JIT has not optimized yet (and
        // the JIT's own thread beside it): measured, a cold first trial spent 3.2 CPU-ms per audio-s outside the engine against 1.0 in
        // the next ones, and failed; the search never goes above a failed trial, so the cold start capped the result.
        var warmServed = await RunTrial(format, first, raw: false);
        var warmRaw = await RunTrial(format, first, raw: true);
        var warmUp = string.Create(CultureInfo.InvariantCulture, $"warm-up at {first} streams, not counted: server {Outcome(warmServed)}{(warmServed.Cost is { } wc ? " (" + wc + ")" : "")}, raw engine {Outcome(warmRaw)}");
        Console.Error.WriteLine($"capacity {format}: {warmUp}");

        // The two searches take turns, trial by trial, so a change in the machine's speed falls on both.
        while (!served.Done || !rawStreams.Done)
        {
            if (!served.Done)
            {
                served.Record(await RunTrial(format, served.Next, raw: false), $"capacity {format}");
            }

            if (!rawStreams.Done)
            {
                rawStreams.Record(await RunTrial(format, rawStreams.Next, raw: true), $"capacity {format}, raw engine");
            }
        }

        var rawAfter = await RawEngine.Throughput(s_sentences, format, TimeSpan.FromSeconds(2), bitrate);
        var raw = (rawBefore + rawAfter) / 2;
        var name = format switch { "pcm" => "PCM", "mp3" => "MP3", _ => "Opus (ogg)" };
        var ratio = rawStreams.Held == 0 ? 0 : (double)served.Held / rawStreams.Held;
        table.Figure("3. capacity", $"real-time streams, {name}",
            string.Create(CultureInfo.InvariantCulture, $"{served.Held} streams"),
            string.Create(CultureInfo.InvariantCulture, $"raw engine {rawStreams.Held} streams; raw {raw:0} audio-s/s (before {rawBefore:0}, after {rawAfter:0})"),
            ratio.ToString("P0", CultureInfo.InvariantCulture), "≥ 80% of raw", ratio >= 0.8);
        table.Note($"Capacity {name} trials (streams: result; {warmUp}): server {served.Log}; raw engine {rawStreams.Log}"
            + (served.Best is { } b ? string.Create(CultureInfo.InvariantCulture,
                $"; at {served.Held} streams the server's first audio p50 {b.FirstAudio.P50:0} ms, p99 {b.FirstAudio.P99:0} ms, and it delivered {b.DeliveredPerSecond:0} audio-s/s ({b.DeliveredPerSecond / raw:P0} of the raw engine's throughput; {served.Held / raw:P0} in streams per raw audio-s/s){(b.Cost is { } bc ? ", spending " + bc : "")}") : "")
            + (rawStreams.Best is { } r ? string.Create(CultureInfo.InvariantCulture, $"; the raw engine at {rawStreams.Held} streams delivered {r.DeliveredPerSecond:0} audio-s/s{(r.Cost is { } rc ? ", spending " + rc : "")}.") : "."));
    }

    /// <summary>One trial of <paramref name="streams"/> streams, served by the server over WebSockets or, with <paramref name="raw"/>, by
    /// the raw engine in this process (each sentence queued on its one thread, each buffer handed to the stream as it is encoded).</summary>
    private async Task<Trial> RunTrial(string format, int streams, bool raw)
    {
        var bitrate = format == "mp3" ? Mp3Kbps : (int?)null;
        Func<string, IAsyncEnumerable<AudioPiece>>[] speakers;
        if (raw)
        {
            speakers = [.. Enumerable.Range(0, streams).Select(_ => (Func<string, IAsyncEnumerable<AudioPiece>>)(text => RawEngine.Stream(text, format, bitrate)))];
        }
        else
        {
            var opened = false;
            while (_pool.Count < streams)
            {
                var batch = await Task.WhenAll(Enumerable.Range(0, Math.Min(50, streams - _pool.Count)).Select(_ => StreamClient.Open(server, keepAudio: true)));

                // Each new socket speaks once before it is measured, so its session and channel are activated here and not inside the
                // trial's burst of first sentences (where hundreds of activations at once had the first, largest trial fail on them).
                await Task.WhenAll(batch.Select(client => Drain(FromServer(client, "Ready.", format, bitrate))));
                _pool.AddRange(batch);
                opened = true;
            }

            if (opened && serverPid is { } quiet)
            {
                await ProcessCpu.WaitUntilQuiet(quiet);
            }

            speakers = [.. _pool.Take(streams).Select(client => (Func<string, IAsyncEnumerable<AudioPiece>>)(text => FromServer(client, text, format, bitrate)))];
        }

        // The raw engine runs in this process; its thread's CPU is the engine's cost per audio second with no server around it.
        var pid = raw ? Environment.ProcessId : serverPid;
        var cpuBefore = pid is { } p ? ProcessCpu.OfThread(p, RawEngine.EngineThread) : default;
        var started = Stopwatch.GetTimestamp();
        var results = await Task.WhenAll(speakers.Select((speak, index) => Stream(speak, format, new Random(index))));
        var wall = Stopwatch.GetElapsedTime(started, results.Max(r => r.LastAudioAt)).TotalSeconds;
        var cpuAfter = pid is { } q ? ProcessCpu.OfThread(q, RawEngine.EngineThread) : default;
        var audio = results.Sum(r => r.ReceivedSeconds);
        var cost = pid is null || audio <= 0 ? null : new CpuCost((cpuAfter.Thread - cpuBefore.Thread) * 1000 / audio,
            raw ? double.NaN : ((cpuAfter.Process - cpuAfter.Thread) - (cpuBefore.Process - cpuBefore.Thread)) * 1000 / audio);
        return new Trial(
            results.All(r => r.Underruns == 0 && !r.Failed),
            results.Sum(r => r.Underruns),
            results.Count(r => r.Underruns > 0),
            results.Count(r => r.Failed),
            Percentiles.Of(results.Where(r => !double.IsNaN(r.FirstAudioMs)).Select(r => r.FirstAudioMs).ToList()),
            audio / wall,
            cost);
    }

    /// <summary>One sentence through the server: <c>synthesize</c>, then its audio frames until the task's final status.</summary>
    private static async IAsyncEnumerable<AudioPiece> FromServer(StreamClient client, string text, string format, int? bitrate)
    {
        await client.Send(StreamClient.Synthesize(text, format, bitrate: bitrate));
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

                yield break;
            }

            if (message.IsAudio)
            {
                yield return new AudioPiece(message.At, message.Audio!);
            }
        }
    }

    private static async Task Drain(IAsyncEnumerable<AudioPiece> pieces)
    {
        await foreach (var _ in pieces)
        {
        }
    }

    private async Task<StreamResult> Stream(Func<string, IAsyncEnumerable<AudioPiece>> speak, string format, Random random)
    {
        await Task.Delay(random.Next(500));
        var clock = AudioClock.For(format, RawEngine.SampleRate, Mp3Kbps);
        var frequency = (double)Stopwatch.Frequency;
        var began = Stopwatch.GetTimestamp();
        var end = began + (long)(options.CapacitySeconds * frequency);
        long playStart = 0;
        var lastAudioAt = began;
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

                var sent = Stopwatch.GetTimestamp();
                await foreach (var piece in speak(s_sentences[i % s_sentences.Length]))
                {
                    var seconds = clock.Feed(piece.Bytes);
                    if (seconds <= 0)
                    {
                        continue;
                    }

                    if (playStart == 0)
                    {
                        playStart = piece.At;
                        firstAudioMs = Stopwatch.GetElapsedTime(sent, piece.At).TotalMilliseconds;
                    }
                    else if ((piece.At - playStart) / frequency > received)
                    {
                        // Ran dry: the player stalls and resumes now.
                        underruns++;
                        playStart = piece.At - (long)(received * frequency);
                    }

                    received += seconds;
                    lastAudioAt = piece.At;
                }
            }

            // At the end of the trial the buffer must still hold audio.
            if (playStart != 0 && (end - playStart) / frequency > received)
            {
                underruns++;
            }

            return new StreamResult(underruns, false, firstAudioMs, received, lastAudioAt);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or EndOfStreamException)
        {
            Console.Error.WriteLine($"capacity stream failed: {e.Message}");
            return new StreamResult(underruns, true, firstAudioMs, received, lastAudioAt);
        }
    }

    private sealed record StreamResult(int Underruns, bool Failed, double FirstAudioMs, double ReceivedSeconds, long LastAudioAt);

    private static string Outcome(Trial trial) => trial.Passed
        ? "ok"
        : string.Create(CultureInfo.InvariantCulture, $"{trial.Underruns} underruns in {trial.StreamsWithUnderruns} streams, {trial.Errors} errors");

    /// <summary>One trial's outcome; <c>DeliveredPerSecond</c> is the audio-seconds its streams received, per second from its start to its last audio.</summary>
    private sealed record Trial(bool Passed, int Underruns, int StreamsWithUnderruns, int Errors, Percentiles FirstAudio, double DeliveredPerSecond, CpuCost? Cost);

    /// <summary>CPU milliseconds per second of audio a trial's streams received: in the engine's thread, and in the rest of the server's
    /// process (NaN for the raw engine, which shares this process with the clients).</summary>
    private sealed record CpuCost(double EngineMs, double OtherMs)
    {
        public override string ToString() => double.IsNaN(OtherMs)
            ? string.Create(CultureInfo.InvariantCulture, $"engine {EngineMs:0.0} CPU-ms per audio-s")
            : string.Create(CultureInfo.InvariantCulture, $"engine {EngineMs:0.0} + rest of the server {OtherMs:0.0} CPU-ms per audio-s");
    }

    /// <summary>A bisection for the most streams a trial holds: N doubles from the first figure until a trial fails, then halves the gap
    /// between the most held and the fewest failed, until that gap is within a tenth, or the trials run out.</summary>
    private sealed class Bisection(int first, BenchOptions options)
    {
        private readonly List<string> _log = [];
        private int _failed = int.MaxValue;
        private int _trials;

        public int Next { get; private set; } = first;

        public int Held { get; private set; }

        public Trial? Best { get; private set; }

        public bool Done { get; private set; }

        public string Log => string.Join("; ", _log);

        public void Record(Trial trial, string label)
        {
            _log.Add(string.Create(CultureInfo.InvariantCulture, $"{Next}: {Outcome(trial)}"));
            var cost = trial.Cost is { } c ? "; " + c : "";
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label}: {_log[^1]} (delivered {trial.DeliveredPerSecond:0} audio-s/s{cost})"));
            if (trial.Passed)
            {
                Held = Next;
                Best = trial;
            }
            else
            {
                _failed = Next;
            }

            var next = Math.Min(options.CapacityMax, _failed == int.MaxValue ? Next * 2 : (Held + _failed) / 2);
            _trials++;
            Done = _trials >= options.CapacityMaxTrials || next == Held || next == _failed
                || (_failed != int.MaxValue && _failed - Held <= Math.Max(1, Held / 10));
            Next = next;
        }
    }
}
