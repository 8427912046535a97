using System.Diagnostics;
using System.Globalization;

namespace MitTts.Bench.Load;

/// <summary>Issue 7 scenario 1: synthesize message sent → first binary audio frame received over a real WebSocket, 1 and
/// <see cref="BenchOptions.Sessions"/> concurrent sessions, PCM and Opus, alternating with the raw engine (+ encoder) in this process.</summary>
/// <param name="server">The server's base address.</param>
/// <param name="options">The run's options (samples, rounds, sessions).</param>
/// <param name="table">Where the figures and notes go.</param>
/// <param name="serverPid">The server's process when it runs on this machine: the concurrent rounds then also say how busy the engine's
/// thread was, in the server and for the raw callers, and what it spent per task.</param>
/// <param name="child">The server when it is this benchmark's child process: each concurrent round also says what it collected.</param>
internal sealed class FirstAudioScenario(Uri server, BenchOptions options, ResultTable table, int? serverPid = null, ServerProcess? child = null)
{
    /// <summary>Short turns, as a voice agent speaks them.</summary>
    public static readonly string[] AgentSentences =
    [
        "Sure, I can help you with that.",
        "Let me check that for you.",
        "Your appointment is confirmed for Tuesday.",
        "Is there anything else I can do for you?",
        "One moment, please.",
        "Thanks, I have updated your address.",
    ];

    // Issue 11's targets: one session close to the raw engine; many sessions at once within 1.3x of raw callers doing the same.
    private const string SingleTarget = "p50 ≤ raw + 2 ms, p99 ≤ raw + 10 ms";
    private const string ManyTarget = "p50 ≤ 1.3x raw";

    public async Task Run()
    {
        await WarmUp();
        foreach (var format in new[] { "pcm", "ogg" })
        {
            var label = format == "ogg" ? "Opus (ogg)" : "PCM";
            await using (var client = await StreamClient.Open(server))
            {
                var ours = new List<double>();
                var raw = new List<double>();
                var stages = new List<double[]>();
                var pings = new List<double>();
                var serverBefore = await StageMetrics.Read([server]);
                for (var i = 0; i < options.FirstAudioSamples; i++)
                {
                    var text = AgentSentences[i % AgentSentences.Length];
                    ours.Add(await Once(client, text, format, stages));
                    raw.Add(await RawEngine.FirstAudio(text, format));
                    pings.Add(await Ping(client));
                }

                var serverStages = (await StageMetrics.Read([server])).MeansSince(serverBefore);
                Report($"1 session, {label}", ours, raw, single: true);
                var socket = Percentiles.Of(pings);
                var (toQueued, toProcessing, toAudio) = (Stage(stages, 0), Stage(stages, 1), Stage(stages, 2));
                table.Note(string.Create(CultureInfo.InvariantCulture,
                    $"First audio, 1 session, {label}, where the time goes (client-side arrival times, p50 / p99 ms): sent → `queued` status "
                    + $"{toQueued.P50:0.00} / {toQueued.P99:0.00} (socket, parse, validation, session); `queued` → `processing` {toProcessing.P50:0.00} / {toProcessing.P99:0.00} "
                    + $"(the channel grain makes the task its head at submit: one grain call, then its event stream to the socket); `processing` → first frame {toAudio.P50:0.00} / {toAudio.P99:0.00} (task grain, dispatch, synthesizer queue, engine, encoder, push to the channel, event stream, socket). "
                    + $"The server's own stage histograms over the same samples, means in ms per task (accept = message → submit to the channel; dispatch = "
                    + $"→ job queued; synthesis = → first piece at the channel; channel = → the socket's reader takes it; deliver = → frame sent; hops = the "
                    + $"server's whole first audio less the stages, i.e. grain messages and wake-ups): {serverStages}. The socket alone, `ping` sent → "
                    + $"`pong` received on the same socket after each sample (one message each way, no grain): p50 {socket.P50:0.00} / p99 "
                    + $"{socket.P99:0.00} ms."));
            }

            var (concurrentOurs, concurrentRaw, engine) = await Concurrent(options.Sessions, format);
            Report($"{options.Sessions} sessions, {label}", concurrentOurs, concurrentRaw, single: false);
            if (serverPid is not null)
            {
                table.Note(string.Create(CultureInfo.InvariantCulture, $"First audio, {options.Sessions} sessions, {label}: the engine's thread was busy "
                    + $"{engine.Server.Busy:P0} of the server's rounds ({engine.Server.MsPerTask:0.00} CPU-ms per task; the rest of the server "
                    + $"{engine.Server.OtherMsPerTask:0.00}, the clients in this process {engine.Clients.MsPerTask:0.00}) and {engine.Raw.Busy:P0} of the raw "
                    + $"callers' rounds ({engine.Raw.MsPerTask:0.00} CPU-ms per task)."));
            }

            table.Note($"First audio, {options.Sessions} sessions, {label}, p50 round by round (server / raw ms): {ByRound(concurrentOurs, concurrentRaw)}.");
        }

        table.Note($"First audio: `synthesize` sent → first binary frame received (for Opus that frame holds the Ogg headers and the first page); "
            + $"reference: espeak-ng called in this process with the same text, to its first PCM buffer (Opus: through the same Ogg/Opus stream encoder, "
            + $"its creation included), alternating with the server sample by sample (1 session) or round by round ({options.Sessions} sessions: "
            + $"{options.Sessions} callers at once on the one engine thread). The {options.Sessions} sessions are new sockets, each of which speaks once "
            + "(all at once, unmeasured) before the first round: the rounds measure sessions in conversation. Each round notes what the server "
            + "collected and compiled (JIT) during it, its own stage means and its CPU per task.");
    }

    /// <summary>Both formats, one session and many, before anything is measured; then waits for the server's CPU to go quiet.</summary>
    /// <remarks>A server that has just started compiles its hot paths for its first ~15 s (tiered JIT took up to one of this machine's two
    /// cores while the first 50-session rounds ran, and those rounds came out a third slower), which is not what a server that has been
    /// up for minutes costs. The raw engine's calls warm up alongside.</remarks>
    public async Task WarmUp()
    {
        foreach (var format in new[] { "pcm", "ogg" })
        {
            await using (var client = await StreamClient.Open(server))
            {
                // JIT, grain activations, the voice's stream gain calibration.
                for (var i = 0; i < 30; i++)
                {
                    await Once(client, AgentSentences[i % AgentSentences.Length], format);
                    await RawEngine.FirstAudio(AgentSentences[i % AgentSentences.Length], format);
                }
            }

            await Concurrent(options.Sessions, format, rounds: 1, perSession: 2);
        }

        if (serverPid is { } pid)
        {
            await ProcessCpu.WaitUntilQuiet(pid);
        }
    }

    // What the server did during each measured round of the last Concurrent run (its sessions' side only): collections and JIT work
    // (when it is a child), its stage means, and its CPU per task (when it runs here).
    private readonly List<string> _roundNotes = [];

    /// <summary>Each round's p50s side by side: whether the server's distance to raw holds from round to round or shrinks as it warms.</summary>
    private string ByRound(List<double> ours, List<double> raw)
    {
        var size = options.Sessions * options.FirstAudioPerSession;
        var rounds = new List<string>();
        for (var start = 0; start + size <= ours.Count && start + size <= raw.Count; start += size)
        {
            var (o, r) = (Percentiles.Of(ours.GetRange(start, size)).P50, Percentiles.Of(raw.GetRange(start, size)).P50);
            rounds.Add(string.Create(CultureInfo.InvariantCulture, $"{o:0.0} / {r:0.0} ({o / r:0.00}x")
                + (rounds.Count < _roundNotes.Count ? _roundNotes[rounds.Count] : "") + ")");
        }

        return string.Join("; ", rounds);
    }

    private static Percentiles Stage(List<double[]> stages, int index) => Percentiles.Of(stages.Select(s => s[index]).ToList());

    private void Report(string measure, List<double> ours, List<double> raw, bool single)
    {
        var p = Percentiles.Of(ours);
        var r = Percentiles.Of(raw);
        var met = single ? p.P50 <= r.P50 + 2 && p.P99 <= r.P99 + 10 : p.P50 <= 1.3 * r.P50;
        table.Latency("1. first audio (WebSocket)", measure, p, r, single ? SingleTarget : ManyTarget, met);
    }

    /// <summary>Rounds of: every session sends its samples back to back; then as many raw callers do the same on the engine. Also how
    /// busy the engine's thread was in each (zero without <c>serverPid</c>). The sessions are new, and each speaks once, all at once,
    /// before the first round, unmeasured: the rounds measure sessions in conversation (a new session's first turn is the first-turn
    /// scenario's), not 50 sessions' grain activations.</summary>
    public async Task<(List<double> Ours, List<double> Raw, (EngineLoad Server, EngineLoad Clients, EngineLoad Raw) Engine)> Concurrent(
        int sessions, string format, int? rounds = null, int? perSession = null)
    {
        var roundCount = rounds ?? options.FirstAudioRounds;
        var samples = perSession ?? options.FirstAudioPerSession;
        var clients = await Task.WhenAll(Enumerable.Range(0, sessions).Select(_ => StreamClient.Open(server)));
        await Task.WhenAll(clients.Select((client, index) => Once(client, AgentSentences[index % AgentSentences.Length], format)));
        var ours = new List<double>();
        var raw = new List<double>();
        _roundNotes.Clear();
        var serverLoad = new EngineLoad();
        var clientLoad = new EngineLoad();
        var rawLoad = new EngineLoad();
        try
        {
            for (var round = 0; round < roundCount; round++)
            {
                var serverThisRound = new EngineLoad();
                using var serverRound = serverThisRound.Measure(serverPid, sessions * samples);
                using var clientRound = clientLoad.Measure(serverPid is null ? null : Environment.ProcessId, sessions * samples, process: true);
                var gcBefore = child is null ? default : await child.Gc();
                var stagesBefore = await StageMetrics.Read([server]);
                var roundOurs = await Task.WhenAll(clients.Select(async (client, index) =>
                {
                    var times = new List<double>();
                    for (var i = 0; i < samples; i++)
                    {
                        times.Add(await Once(client, AgentSentences[(index + i) % AgentSentences.Length], format));
                    }

                    return times;
                }));
                serverRound.Dispose();
                clientRound.Dispose();
                var gc = child is null ? (GcActivity?)null : await child.Gc() - gcBefore;
                serverLoad.Add(serverThisRound);
                var stages = (await StageMetrics.Read([server])).MeansSince(stagesBefore);
                var culture = CultureInfo.InvariantCulture;
                _roundNotes.Add((gc is { } g ? string.Create(culture, $", server GC {g.Gen0}/{g.Gen1}/{g.Gen2} of gen0/1/2, {g.PausedMs:0} ms paused, JIT {g.JitMethods} methods in {g.JitMs:0} ms") : "")
                    + $"; server stages {stages}"
                    + (serverPid is null ? "" : string.Create(culture,
                        $"; engine thread busy {serverThisRound.Busy:P0}, {serverThisRound.MsPerTask:0.00} + rest of the server {serverThisRound.OtherMsPerTask:0.00} CPU-ms per task")));

                using var rawRound = rawLoad.Measure(serverPid is null ? null : Environment.ProcessId, sessions * samples);
                var roundRaw = await Task.WhenAll(Enumerable.Range(0, sessions).Select(index => Task.Run(async () =>
                {
                    var times = new List<double>();
                    for (var i = 0; i < samples; i++)
                    {
                        times.Add(await RawEngine.FirstAudio(AgentSentences[(index + i) % AgentSentences.Length], format));
                    }

                    return times;
                })));
                rawRound.Dispose();
                ours.AddRange(roundOurs.SelectMany(t => t));
                raw.AddRange(roundRaw.SelectMany(t => t));
            }
        }
        finally
        {
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
        }

        return (ours, raw, (serverLoad, clientLoad, rawLoad));
    }

    /// <summary>The engine's thread (or a whole process) over rounds: CPU seconds, the process's other CPU seconds, wall seconds and
    /// tasks, added up round by round.</summary>
    public sealed class EngineLoad
    {
        private double _cpu;
        private double _other;
        private double _wall;
        private int _tasks;

        public double Busy => _wall > 0 ? _cpu / _wall : 0;

        public double MsPerTask => _tasks > 0 ? _cpu * 1000 / _tasks : 0;

        public double OtherMsPerTask => _tasks > 0 ? _other * 1000 / _tasks : 0;

        /// <summary>Adds <paramref name="other"/>'s rounds to these.</summary>
        public void Add(EngineLoad other)
        {
            _cpu += other._cpu;
            _other += other._other;
            _wall += other._wall;
            _tasks += other._tasks;
        }

        /// <summary>Measures until disposed (a second dispose does nothing); nothing when <paramref name="pid"/> is null. With
        /// <paramref name="process"/>, the whole process counts as the measured CPU.</summary>
        public IDisposable Measure(int? pid, int tasks, bool process = false)
        {
            if (pid is not { } id)
            {
                return new Round(null);
            }

            var before = ProcessCpu.OfThread(id, RawEngine.EngineThread);
            var started = Stopwatch.GetTimestamp();
            return new Round(() =>
            {
                var after = ProcessCpu.OfThread(id, RawEngine.EngineThread);
                _cpu += process ? after.Process - before.Process : after.Thread - before.Thread;
                _other += process ? 0 : (after.Process - after.Thread) - (before.Process - before.Thread);
                _wall += Stopwatch.GetElapsedTime(started).TotalSeconds;
                _tasks += tasks;
            });
        }

        private sealed class Round(Action? end) : IDisposable
        {
            private Action? _end = end;

            public void Dispose()
            {
                _end?.Invoke();
                _end = null;
            }
        }
    }

    /// <summary>Milliseconds from sending <c>ping</c> to its <c>pong</c>: what the socket, the two processes' network stacks and their
    /// wake-ups cost a message each way, which every server's first audio pays and the in-process raw engine does not.</summary>
    private static async Task<double> Ping(StreamClient client)
    {
        var sent = await client.Send("""{"type":"ping"}""");
        var pong = await client.ReceiveUntil(m => m.Type == "pong");
        return Stopwatch.GetElapsedTime(sent, pong.At).TotalMilliseconds;
    }

    /// <summary>One request: milliseconds from sending <c>synthesize</c> to the first audio frame; waits for the task's end.</summary>
    public static async Task<double> Once(StreamClient client, string text, string format, List<double[]>? stages = null)
    {
        var sent = await client.Send(StreamClient.Synthesize(text, format));
        var queued = await client.ReceiveUntil(m => m.Type == "status" || m.Type == "error");
        if (queued.Status != "queued")
        {
            throw new InvalidOperationException($"the server refused the request: {queued.Type} {queued.Status}");
        }

        var taskId = queued.TaskId!;
        var processing = await client.ReceiveUntil(m => m.IsAudio || m.Type == "status");
        var first = processing.IsAudio ? processing : await client.ReceiveUntil(m => m.IsAudio || m.IsEndOf(taskId));
        if (!first.IsAudio)
        {
            throw new InvalidOperationException($"task {taskId} ended ({first.Status}) without audio");
        }

        await client.ReceiveUntil(m => m.IsEndOf(taskId));
        stages?.Add([
            Stopwatch.GetElapsedTime(sent, queued.At).TotalMilliseconds,
            Stopwatch.GetElapsedTime(queued.At, processing.At).TotalMilliseconds,
            Stopwatch.GetElapsedTime(processing.At, first.At).TotalMilliseconds,
        ]);
        return Stopwatch.GetElapsedTime(sent, first.At).TotalMilliseconds;
    }
}
