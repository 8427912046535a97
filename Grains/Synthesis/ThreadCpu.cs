using System.Runtime.InteropServices;

namespace MitTts.Grains.Synthesis;

/// <summary>CPU time of the calling thread (Linux: <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>): what a piece of work cost, without
/// the time its thread waited for a core or sat in a collection's pause.</summary>
internal static partial class ThreadCpu
{
    private const int ThreadCpuTimeClock = 3;

    /// <summary>Seconds of CPU the calling thread has used so far; null where the platform does not say.</summary>
    public static double? Seconds()
    {
        if (!OperatingSystem.IsLinux() || ClockGetTime(ThreadCpuTimeClock, out var value) != 0)
        {
            return null;
        }

        return value.Seconds + (value.Nanoseconds / 1e9);
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec value);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
