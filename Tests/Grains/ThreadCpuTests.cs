using System.Diagnostics;
using MitTts.Grains.Synthesis;

namespace MitTts.Tests.Grains;

/// <summary>The encode cost the estimates learn is the encoding thread's CPU time: a thread that waits (for a core, for a collection's
/// pause) adds nothing to it, one that works adds what it worked.</summary>
public sealed class ThreadCpuTests
{
    [Fact]
    public void A_thread_that_waits_uses_no_cpu_time_and_one_that_works_does()
    {
        var before = ThreadCpu.Seconds();
        Assert.NotNull(before);

        // Waiting is the subject here: 300 ms of it cost (almost) no CPU.
        Thread.Sleep(300);
        var waited = ThreadCpu.Seconds()!.Value - before.Value;
        Assert.InRange(waited, 0, 0.05);

        // Working until the clock says 100 ms of CPU were spent on top: it gets there (bounded by wall time, on a busy machine).
        var wall = Stopwatch.StartNew();
        double spent;
        var sum = 0L;
        do
        {
            for (var i = 0; i < 10_000; i++)
            {
                sum += i ^ (sum >> 3);
            }

            spent = ThreadCpu.Seconds()!.Value - before.Value - waited;
        }
        while (spent < 0.1 && wall.Elapsed < TimeSpan.FromSeconds(30));

        Assert.True(spent >= 0.1, $"{spent:F3} s of CPU after {wall.Elapsed} of work ({sum})");
        Assert.True(spent <= wall.Elapsed.TotalSeconds + 0.01, $"{spent:F3} s of CPU in {wall.Elapsed} of wall time");
    }
}
