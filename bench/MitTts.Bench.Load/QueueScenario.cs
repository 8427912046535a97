using System.Diagnostics;
using System.Globalization;
using System.Text;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;

namespace MitTts.Bench.Load;

/// <summary>A synthesizer's queue on its own (no server, no engine), as the capacity trials drive it: <c>sessions</c> sessions with one
/// streamed job waiting each. A step is what the synthesizer does around each sentence it speaks: the job it would hand ahead
/// (<c>Peek</c>), whether a fresh job of another session waits, the next job out, and that session's next request in, told its place.
/// Reported per step (median and slowest of the rounds) with the bytes it allocates: the grain does this on its turn while streams wait.</summary>
internal static class QueueScenario
{
    private static readonly DateTimeOffset s_start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static string Run(int rounds = 21)
    {
        var report = new StringBuilder();
        report.AppendLine("| waiting sessions | ns per step, median of rounds | slowest round | bytes allocated per step |");
        report.AppendLine("|---|---|---|---|");
        foreach (var sessions in (int[])[50, 500, 4000])
        {
            // About the same time per round whatever the size, as long as a step scans the queue.
            var stepsPerRound = Math.Max(200, 2_000_000 / sessions);
            var (queue, clock) = Fill(sessions);
            for (var i = 0; i < stepsPerRound; i++)
            {
                Step(queue, ref clock);
            }

            var perStep = new double[rounds];
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            for (var round = 0; round < rounds; round++)
            {
                var started = Stopwatch.GetTimestamp();
                for (var i = 0; i < stepsPerRound; i++)
                {
                    Step(queue, ref clock);
                }

                perStep[round] = Stopwatch.GetElapsedTime(started).TotalNanoseconds / stepsPerRound;
            }

            var allocated = (double)(GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / (rounds * stepsPerRound);
            Array.Sort(perStep);
            report.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {sessions} | {perStep[rounds / 2]:0} | {perStep[^1]:0} | {allocated:0} |"));
        }

        return report.ToString();
    }

    private static (PriorityJobQueue Queue, DateTimeOffset Clock) Fill(int sessions)
    {
        var queue = new PriorityJobQueue(TimeSpan.FromSeconds(10));
        for (var i = 0; i < sessions; i++)
        {
            var request = new SynthesisRequest("The quick brown fox jumps over the lazy dog.", "en-female-1", AudioFormat.Pcm, Priority.High,
                $"session-{Guid.NewGuid():N}", 1, 1, Streamed: true);
            queue.Enqueue(new ScheduledJob(new SynthesisJob($"task_{Guid.NewGuid():N}", request, s_start), i + 1, s_start));
        }

        return (queue, s_start);
    }

    private static long s_sequence = 1_000_000;

    private static void Step(PriorityJobQueue queue, ref DateTimeOffset clock)
    {
        clock = clock.AddTicks(1);
        var ahead = queue.Peek(clock)!;
        _ = queue.HasFreshWaiting(Priority.High, ahead.SessionKey, clock);
        queue.TryDequeue(clock, out var job);
        var next = new ScheduledJob(job.Job, ++s_sequence, clock);
        queue.Enqueue(next);
        _ = queue.Place(next, clock);
    }
}
