using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace MitTts.Bench.Load;

/// <summary>First audio of a session's first turn, as a voice agent opens a call: a new socket sends <c>connect</c> and its first turn
/// right behind it, without waiting for <c>connected</c>. The turn is a <c>synthesize</c> or streamed text (a <c>text</c> message with a
/// whole sentence, then <c>flush</c>); turn sent → first binary frame. Next to it, a turn on a session that has spoken before, and the raw
/// engine: what opening a session costs the first turn.</summary>
/// <param name="table">Where the figures and notes go.</param>
/// <param name="samples">Samples per row.</param>
internal sealed class FirstTurnScenario(ResultTable table, int samples)
{
    private const string Scenario = "first turn (new session)";

    public enum Turn
    {
        Synthesize,
        Text,
    }

    /// <summary>One process: the server's first turns (both kinds) and a warm session's turn, alternating with the raw engine; after a
    /// warm-up, and once the server's CPU is quiet when it runs on this machine (<paramref name="serverPid"/>).</summary>
    public async Task Run(Uri server, int? serverPid)
    {
        await using var warm = await StreamClient.Open(server);
        for (var i = 0; i < 20; i++)
        {
            var text = Reply(i);
            await Once(server, text, Turn.Synthesize);
            await Once(server, text, Turn.Text);
            await FirstAudioScenario.Once(warm, text, "pcm");
            await RawEngine.FirstAudio(text, "pcm");
        }

        if (serverPid is { } pid)
        {
            await ProcessCpu.WaitUntilQuiet(pid);
        }

        var synthesize = new List<double>();
        var streamed = new List<double>();
        var connected = new List<double>();
        var spoken = new List<double>();
        var raw = new List<double>();
        for (var i = 0; i < samples; i++)
        {
            var text = Reply(i);
            var (toConnected, toAudio) = await Once(server, text, Turn.Synthesize);
            synthesize.Add(toAudio);
            connected.Add(toConnected);
            streamed.Add((await Once(server, text, Turn.Text)).ToAudio);
            spoken.Add(await FirstAudioScenario.Once(warm, text, "pcm"));
            raw.Add(await RawEngine.FirstAudio(text, "pcm"));
        }

        var rawPercentiles = Percentiles.Of(raw);
        var warmPercentiles = Percentiles.Of(spoken);
        table.Latency(Scenario, "session that has spoken before, `synthesize`, PCM", warmPercentiles, rawPercentiles, "–", null);
        table.Latency(Scenario, "new session, `synthesize`, PCM", Percentiles.Of(synthesize), rawPercentiles, "–", null);
        table.Latency(Scenario, "new session, streamed text, PCM", Percentiles.Of(streamed), rawPercentiles, "–", null);
        NoteHow(Percentiles.Of(connected), "the raw engine (espeak-ng in this process, to its first PCM buffer), alternating sample by sample");
    }

    /// <summary>A cluster against the embedded server: each target's first turns, alternating sample by sample; the embedded rows are the
    /// reference of the others.</summary>
    public async Task Run(params (string Name, Uri Address)[] targets)
    {
        for (var i = 0; i < 20; i++)
        {
            foreach (var (_, address) in targets)
            {
                await Once(address, Reply(i), Turn.Synthesize);
                await Once(address, Reply(i), Turn.Text);
            }
        }

        var synthesize = targets.Select(_ => new List<double>()).ToArray();
        var streamed = targets.Select(_ => new List<double>()).ToArray();
        var connected = new List<double>();
        for (var i = 0; i < samples; i++)
        {
            var text = Reply(i);
            for (var t = 0; t < targets.Length; t++)
            {
                var k = (t + i) % targets.Length;
                var (toConnected, toAudio) = await Once(targets[k].Address, text, Turn.Synthesize);
                synthesize[k].Add(toAudio);
                if (k > 0)
                {
                    connected.Add(toConnected);
                }

                streamed[k].Add((await Once(targets[k].Address, text, Turn.Text)).ToAudio);
            }
        }

        for (var t = 0; t < targets.Length; t++)
        {
            table.Latency("cluster (issue 6)", $"first turn, new session, `synthesize`: {targets[t].Name}", Percentiles.Of(synthesize[t]),
                t == 0 ? null : Percentiles.Of(synthesize[0]), "–", null);
            table.Latency("cluster (issue 6)", $"first turn, new session, streamed text: {targets[t].Name}", Percentiles.Of(streamed[t]),
                t == 0 ? null : Percentiles.Of(streamed[0]), "–", null);
        }

        NoteHow(Percentiles.Of(connected), "the embedded rows (the cluster rows' `connect` → `connected` only)");
    }

    /// <summary>A two-sentence reply: sent as one <c>text</c> message, its first sentence is cut as it arrives, the second at <c>flush</c>.</summary>
    private static string Reply(int i) => FirstAudioScenario.AgentSentences[i % FirstAudioScenario.AgentSentences.Length] + " "
        + FirstAudioScenario.AgentSentences[(i + 1) % FirstAudioScenario.AgentSentences.Length];

    private void NoteHow(Percentiles connected, string reference) =>
        table.Note(string.Create(CultureInfo.InvariantCulture, $"First turn: a new socket sends `connect` (a new session) and its first turn right "
            + $"behind it, without waiting for `connected`; turn sent → first binary frame. The turn is a two-sentence reply: `synthesize` as in the first-audio "
            + $"scenario, or streamed text (`text` with the whole reply, its first sentence cut as it arrives, then `flush`). Reference: {reference}. `connect` sent → `connected` received meanwhile: "
            + $"p50 {connected.P50:0.00} / p99 {connected.P99:0.00} ms."));

    /// <summary>Opens a socket, sends <c>connect</c> and the turn back to back; connect → connected and turn → first frame, in ms.</summary>
    public static async Task<(double ToConnected, double ToAudio)> Once(Uri server, string text, Turn turn)
    {
        await using var client = await StreamClient.Connect(server);
        var connectSent = await client.Send("{\"type\":\"connect\",\"binary\":true}");
        long turnSent;
        if (turn == Turn.Synthesize)
        {
            turnSent = await client.Send(StreamClient.Synthesize(text, "pcm"));
        }
        else
        {
            turnSent = await client.Send(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["type"] = "text",
                ["context_id"] = "turn-1",
                ["text"] = text,
                ["voice_id"] = "en-male-1",
                ["format"] = "pcm",
                ["priority"] = "high",
            }));
            await client.Send("{\"type\":\"flush\",\"context_id\":\"turn-1\"}");
        }

        long? connectedAt = null;
        long? firstAudioAt = null;
        var completed = false;

        // Until the turn's task has ended, so the next sample finds the engine idle.
        while (connectedAt is null || firstAudioAt is null || !completed)
        {
            var message = await client.Receive();
            if (message.Type == "connected")
            {
                connectedAt = message.At;
            }
            else if (message.IsAudio)
            {
                firstAudioAt ??= message.At;
            }
            else if (message.Status == "completed")
            {
                completed = true;
            }
            else if (message.Type == "error" || message.Status is "error" or "cancelled")
            {
                throw new InvalidOperationException($"the first turn failed: {message.Type} {message.Status}");
            }
        }

        return (Stopwatch.GetElapsedTime(connectSent, connectedAt.Value).TotalMilliseconds,
            Stopwatch.GetElapsedTime(turnSent, firstAudioAt.Value).TotalMilliseconds);
    }
}
