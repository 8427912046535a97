using System.Diagnostics;
using System.Globalization;

namespace MitTts.Bench.Load;

/// <summary>Issue 7 scenario 2: barge-in with <see cref="BenchOptions.Sessions"/> sessions each holding a long task. Each session
/// interrupts some tens of milliseconds after its audio starts flowing: interrupt sent → <c>interrupted</c> received, and → the last audio
/// frame received; frames after the acknowledgement are counted (the protocol promises none). A <c>ping</c> → <c>pong</c> on the same
/// socket 2–30 ms before each interrupt is the reference: what any message answered by the connection itself takes under that load.</summary>
internal sealed class InterruptScenario(Uri server, BenchOptions options, ResultTable table)
{
    // About five minutes of speech (under the 5000-character limit), so the task is still running when the interrupt lands.
    private static readonly string s_longText = string.Join(" ", Enumerable.Repeat("The quick brown fox jumps over the lazy dog, and then it runs far away into the forest.", 55));

    private const string AckMetric = "mittts_interrupt_latency_seconds";

    private readonly List<double> _acks = [];
    private readonly List<double> _pongs = [];
    private readonly List<double> _lastFrames = [];
    private int _framesAfterAck;
    private int _finishedFirst;
    private int _failures;

    public async Task Run()
    {
        var clients = await Task.WhenAll(Enumerable.Range(0, options.Sessions).Select(_ => StreamClient.Open(server)));
        var serverBefore = await ServerHistogram.Read(server, AckMetric);
        try
        {
            for (var round = 0; round < options.InterruptRounds; round++)
            {
                await Task.WhenAll(clients.Select((client, index) => Once(client, new Random((round * 1000) + index))));
            }
        }
        finally
        {
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
        }

        var serverAcks = (await ServerHistogram.Read(server, AckMetric)).QuantilesSince(serverBefore, "acks", 5);
        const string Target = "p99 < 5 ms";
        var acks = Percentiles.Of(_acks);
        var pongs = Percentiles.Of(_pongs);
        var last = Percentiles.Of(_lastFrames);
        table.Latency("2. interrupt", $"{options.Sessions} sessions: sent → `interrupted` ack (reference: `ping` → `pong` before it)", acks, pongs, Target, acks.P99 < 5);
        table.Latency("2. interrupt", $"{options.Sessions} sessions: sent → last audio frame", last, null, Target, last.P99 < 5);
        table.Figure("2. interrupt", "audio frames after the ack", _framesAfterAck.ToString(CultureInfo.InvariantCulture), "–", "–", "0", _framesAfterAck == 0);
        table.Note($"Interrupt: {options.Sessions} sessions each submit a ~5 min text (PCM) at once; the one engine thread serves them in turn, so a "
            + $"session sends `ping` 2–30 ms after its own first audio frame, waits for the `pong`, and interrupts 2–30 ms later (while its audio "
            + "is flowing) while the others wait or stream. "
            + $"{_acks.Count} interrupts; {_finishedFirst} tasks finished before their interrupt reached the server; {_failures} failures. "
            + "\"Last audio frame\" is 0 when no frame arrived after the interrupt was sent. "
            + "The reference is what any message takes under the same load: the `pong`, which the connection answers itself (no grain); "
            + "it queues behind the audio frames already on their way, which the interrupt drops before its acknowledgement, so its tail "
            + "can be the longer. "
            + $"The server's own measure (interrupt message received → acknowledgement sent, `{AckMetric}`): {serverAcks}.");
    }

    private async Task Once(StreamClient client, Random random)
    {
        try
        {
            await client.Send(StreamClient.Synthesize(s_longText, "pcm"));
            var queued = await client.ReceiveUntil(m => m.Type is "status" or "error");
            var taskId = queued.TaskId ?? throw new InvalidOperationException("refused");
            var first = await client.ReceiveUntil(m => m.IsAudio || m.IsEndOf(taskId), TimeSpan.FromSeconds(120));
            if (!first.IsAudio)
            {
                throw new InvalidOperationException($"ended ({first.Status}) without audio");
            }

            await Task.Delay(2 + random.Next(28));

            // The floor, under the same load: a `ping` on the same socket, answered by the connection without a grain; then as long
            // again before the interrupt, so that each is the first message after a quiet spell, as a real barge-in is.
            var pinged = await client.Send("{\"type\":\"ping\"}");
            var pong = await client.ReceiveUntil(m => m.Type == "pong", TimeSpan.FromSeconds(30));
            await Task.Delay(2 + random.Next(28));

            var sent = await client.Send("{\"type\":\"interrupt\",\"reason\":\"barge_in\"}");
            var lastAudio = sent;
            var finished = false;
            Received ack;
            while (true)
            {
                var message = await client.Receive(TimeSpan.FromSeconds(30));
                if (message.IsAudio && message.At > lastAudio)
                {
                    lastAudio = message.At;
                }
                else if (message.IsEndOf(taskId))
                {
                    finished = true;
                }
                else if (message.Type == "interrupted")
                {
                    ack = message;
                    break;
                }
            }

            var after = 0;
            var deadline = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 5);
            while (Stopwatch.GetTimestamp() < deadline && await client.TryReceive(TimeSpan.FromMilliseconds(50)) is { } late)
            {
                after += late.IsAudio ? 1 : 0;
            }

            lock (_acks)
            {
                _pongs.Add(Stopwatch.GetElapsedTime(pinged, pong.At).TotalMilliseconds);
                _acks.Add(Stopwatch.GetElapsedTime(sent, ack.At).TotalMilliseconds);
                _lastFrames.Add(Stopwatch.GetElapsedTime(sent, lastAudio).TotalMilliseconds);
                _framesAfterAck += after;
                _finishedFirst += finished ? 1 : 0;
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or EndOfStreamException)
        {
            Interlocked.Increment(ref _failures);
            Console.Error.WriteLine($"interrupt sample failed: {e.Message}");
        }
    }
}
