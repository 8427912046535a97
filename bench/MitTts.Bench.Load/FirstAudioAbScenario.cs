using System.Globalization;

namespace MitTts.Bench.Load;

/// <summary>First audio of two builds of the server side by side: this one (A) and the one <c>--compare-with</c> names (B), each in its
/// own <c>serve</c> process started together, sample by sample (1 session, PCM) and round by round (<see cref="BenchOptions.Sessions"/>
/// sessions), alternating with the raw engine. On this shared machine the figures of separate runs drift by more than most changes
/// move them; taken in turns within one run, both builds meet the same machine.</summary>
/// <param name="other">The other build's program (<c>bench/MitTts.Bench.Load/bin/Release/net10.0/MitTts.Bench.Load</c> of a worktree).</param>
/// <param name="options">Samples, rounds and sessions, as for the first-audio scenario.</param>
/// <param name="table">Where the figures and notes go.</param>
internal sealed class FirstAudioAbScenario(string other, BenchOptions options, ResultTable table)
{
    private const string Scenario = "first audio A/B";

    public async Task Run()
    {
        await using var a = await ServerProcess.Start(settings: BenchOptions.StreamingServerSettings, serverGc: true, environment: options.ServerEnvironment);
        await using var b = await ServerProcess.Start(settings: BenchOptions.StreamingServerSettings, serverGc: true, environment: options.ServerEnvironment,
            program: other);
        var sides = new[] { new FirstAudioScenario(a.BaseAddress, options, table, a.Pid), new FirstAudioScenario(b.BaseAddress, options, table, b.Pid) };

        // Both warmed up the way the first-audio scenario warms its server, so neither meets the other's JIT.
        foreach (var side in sides)
        {
            await side.WarmUp();
        }

        await using (var clientA = await StreamClient.Open(a.BaseAddress))
        await using (var clientB = await StreamClient.Open(b.BaseAddress))
        {
            var (ours, theirs, raw) = (new List<double>(), new List<double>(), new List<double>());
            for (var i = 0; i < options.FirstAudioSamples; i++)
            {
                var text = FirstAudioScenario.AgentSentences[i % FirstAudioScenario.AgentSentences.Length];
                // The order turns each sample, so neither build always follows the raw engine's call.
                for (var k = 0; k < 2; k++)
                {
                    var side = (i + k) % 2;
                    (side == 0 ? ours : theirs).Add(await FirstAudioScenario.Once(side == 0 ? clientA : clientB, text, "pcm"));
                }

                raw.Add(await RawEngine.FirstAudio(text, "pcm"));
            }

            Report("1 session, PCM", ours, theirs, raw);
        }

        var (manyOurs, manyTheirs, manyRaw) = (new List<double>(), new List<double>(), new List<double>());
        var (cpuOurs, cpuTheirs) = (new FirstAudioScenario.EngineLoad(), new FirstAudioScenario.EngineLoad());
        for (var round = 0; round < options.FirstAudioRounds; round++)
        {
            var first = round % 2 == 0 ? 0 : 1;
            for (var k = 0; k < 2; k++)
            {
                var side = (first + k) % 2;
                var (o, r, load) = await sides[side].Concurrent(options.Sessions, "pcm", rounds: 1);
                (side == 0 ? manyOurs : manyTheirs).AddRange(o);
                (side == 0 ? cpuOurs : cpuTheirs).Add(load.Server);
                manyRaw.AddRange(r);
            }
        }

        Report($"{options.Sessions} sessions, PCM", manyOurs, manyTheirs, manyRaw);
        table.Note(string.Create(CultureInfo.InvariantCulture,
            $"First audio A/B, {options.Sessions} sessions: the server's CPU besides the engine's thread, per task: A {cpuOurs.OtherMsPerTask:0.00} ms, "
            + $"B {cpuTheirs.OtherMsPerTask:0.00} ms; the engine's thread busy A {cpuOurs.Busy:P0}, B {cpuTheirs.Busy:P0}."));
        table.Note($"First audio A/B: A is this build, B is `{other}`, each in its own `serve` process, both running for the whole scenario; "
            + "1 session: A and B in turns (the order alternating), then the raw engine, per sample; many sessions: a round of each in turns, each "
            + "followed by a raw round. The reference column is B.");
    }

    private void Report(string measure, List<double> ours, List<double> theirs, List<double> raw)
    {
        var (pa, pb, pr) = (Percentiles.Of(ours), Percentiles.Of(theirs), Percentiles.Of(raw));
        table.Latency(Scenario, $"{measure}: A", pa, pb, "–", null);
        table.Latency(Scenario, $"{measure}: B", pb, pr, "–", null);
    }
}
