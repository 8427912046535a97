using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace MitTts.Gateway.Hosting;

/// <summary>Samples this process's CPU and memory, and the model disk, once a second for <c>/status</c>.</summary>
public sealed class ResourceMonitor(TimeProvider time, IOptions<GatewayTtsOptions> tts) : BackgroundService
{
    private static readonly TimeSpan s_interval = TimeSpan.FromSeconds(1);
    private const double Megabyte = 1024 * 1024;

    private readonly long _started = time.GetTimestamp();
    private volatile ResourceSample _current = new(0, 0, 0, 0, 0);

    public TimeSpan Uptime => time.GetElapsedTime(_started);

    public ResourceSample Current => _current;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var process = Process.GetCurrentProcess();
        var lastCpu = process.TotalProcessorTime;
        var lastWall = time.GetTimestamp();
        _current = Sample(process, 0);
        using var timer = new PeriodicTimer(s_interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            var wall = time.GetElapsedTime(lastWall);
            var percent = 100 * (cpu - lastCpu).TotalSeconds / (wall.TotalSeconds * Environment.ProcessorCount);
            lastCpu = cpu;
            lastWall = time.GetTimestamp();
            _current = Sample(process, Math.Round(Math.Clamp(percent, 0, 100), 1));
        }
    }

    private ResourceSample Sample(Process process, double cpuPercent)
    {
        double diskUsed = 0, diskFree = 0;
        try
        {
            var drive = new DriveInfo(Path.GetPathRoot(Path.GetFullPath(tts.Value.ModelPath)) ?? "/");
            diskUsed = (drive.TotalSize - drive.AvailableFreeSpace) / Megabyte;
            diskFree = drive.AvailableFreeSpace / Megabyte;
        }
        catch (IOException)
        {
            // A vanished mount leaves the disk figures at zero rather than failing /status.
        }

        var memoryTotal = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / Megabyte;
        return new ResourceSample(cpuPercent, Math.Round(process.WorkingSet64 / Megabyte, 1), Math.Round(diskUsed, 1), Math.Round(diskFree, 1), Math.Round(memoryTotal, 1));
    }
}

/// <summary>CPU in percent of all cores; memory and disk in MB.</summary>
public sealed record ResourceSample(double CpuPercent, double MemoryMb, double DiskUsedMb, double DiskFreeMb, double MemoryTotalMb);
