using System.Globalization;

namespace MitTts.Bench.Load;

/// <summary>Issue 7 scenario 6: first audio and REST throughput of a process-per-request server (<see cref="NaiveServer"/>), side by
/// side with MitTts in the same run: what a resident engine behind grains and a streaming socket buys.</summary>
internal sealed class NaiveScenario(Uri server, BenchOptions options, ResultTable table)
{
    private const int WavHeaderBytes = 44;

    public async Task Run(ThroughputScenario.Load? oursThroughput)
    {
        using var naive = new NaiveServer();
        using var http = ThroughputScenario.NewClient(naive.BaseAddress);
        var culture = CultureInfo.InvariantCulture;
        var sentences = FirstAudioScenario.AgentSentences;

        // 1 session: naive request and MitTts WebSocket request (PCM) alternating.
        var naiveOne = new List<double>();
        var oursOne = new List<double>();
        await using (var client = await StreamClient.Open(server))
        {
            for (var i = 0; i < 10; i++)
            {
                await NaiveServer.FirstAudio(http, sentences[i % sentences.Length]);
                await FirstAudioScenario.Once(client, sentences[i % sentences.Length], "pcm");
            }

            for (var i = 0; i < options.NaiveSamples; i++)
            {
                naiveOne.Add(await NaiveServer.FirstAudio(http, sentences[i % sentences.Length]));
                oursOne.Add(await FirstAudioScenario.Once(client, sentences[i % sentences.Length], "pcm"));
            }
        }

        Report("1 session", naiveOne, oursOne);

        // Concurrent sessions: a naive round, then a MitTts round.
        var naiveMany = (await Task.WhenAll(Enumerable.Range(0, options.Sessions).Select(index => Task.Run(async () =>
        {
            var times = new List<double>();
            for (var i = 0; i < options.FirstAudioPerSession; i++)
            {
                times.Add(await NaiveServer.FirstAudio(http, sentences[(index + i) % sentences.Length]));
            }

            return times;
        })))).SelectMany(t => t).ToList();
        var oursMany = (await new FirstAudioScenario(server, options with { FirstAudioRounds = 1 }, table).Concurrent(options.Sessions, "pcm")).Ours;
        Report($"{options.Sessions} sessions", naiveMany, oursMany);

        // Throughput: the same closed loop as scenario 4.
        var naiveLoad = await ThroughputScenario.Measure(http, options.Clients, TimeSpan.FromSeconds(options.ThroughputSeconds), "/synthesize", WavHeaderBytes);
        if (oursThroughput is null)
        {
            using var ours = ThroughputScenario.NewClient(server);
            oursThroughput = await ThroughputScenario.Measure(ours, options.Clients, TimeSpan.FromSeconds(options.ThroughputSeconds));
        }

        table.Figure("6. naive baseline", $"throughput, {options.Clients} clients (process per request)",
            string.Create(culture, $"{naiveLoad.AudioSecondsPerSecond:0} audio-s/s, {naiveLoad.SuccessRate:P1} ok"),
            string.Create(culture, $"MitTts REST {oursThroughput.AudioSecondsPerSecond:0} audio-s/s"),
            string.Create(culture, $"MitTts = {oursThroughput.AudioSecondsPerSecond / naiveLoad.AudioSecondsPerSecond:0.00}x naive"), "MitTts ≥ 2x naive",
            oursThroughput.AudioSecondsPerSecond >= 2 * naiveLoad.AudioSecondsPerSecond);
        table.Note("Naive baseline: an HttpListener in this process that spawns `espeak-ng --stdout -v en-us TEXT` per request and streams its "
            + "WAV output as it comes; first audio = request sent → first body byte. MitTts's figures in these rows are its WebSocket PCM "
            + "first audio (measured alternating with the naive server) and its REST throughput from scenario 4 (same run, same texts and clients).");
    }

    private void Report(string sessions, List<double> naive, List<double> ours) =>
        table.Latency("6. naive baseline", $"first audio, {sessions}: process per request (ref: MitTts WebSocket PCM)",
            Percentiles.Of(naive), Percentiles.Of(ours), "–", null);
}
