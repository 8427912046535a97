using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;

namespace MitTts.Bench.Load;

/// <summary>What the child's garbage collector says about itself, without forcing a collection: the heap after the last one, the
/// memory it has committed, and how many gen2 collections ran so far.</summary>
internal readonly record struct GcFigures(long HeapBytes, long CommittedBytes, int Gen2Collections);

/// <summary>The child's collections so far: time paused in all, collections of each generation (a gen1 count includes the gen2 ones), and
/// bytes allocated; and the methods the JIT compiled, with the time it took. Subtract two readings for what a scenario cost.</summary>
internal readonly record struct GcActivity(double PausedMs, int Gen0, int Gen1, int Gen2, long AllocatedBytes, long JitMethods = 0, double JitMs = 0)
{
    public static GcActivity operator -(GcActivity after, GcActivity before) => new(after.PausedMs - before.PausedMs, after.Gen0 - before.Gen0,
        after.Gen1 - before.Gen1, after.Gen2 - before.Gen2, after.AllocatedBytes - before.AllocatedBytes, after.JitMethods - before.JitMethods,
        after.JitMs - before.JitMs);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Gen0} collections ({Gen1} of gen1, {Gen2} of them gen2), {PausedMs:0} ms paused in all ({PausedMs / Math.Max(1, Gen0):0.0} ms each), {AllocatedBytes / 1e6:0} MB allocated");
}

/// <summary>This program with <c>serve</c>, as a child process: the embedded server alone, answering <c>mem</c>, <c>heap</c> and <c>gc</c>
/// on stdin.</summary>
/// <remarks>Its other output (the server's warnings) is read as it comes and passed to stderr until it is told to stop, so a full pipe never
/// blocks the server's logger.</remarks>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _answers = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Task _reading;
    private volatile bool _stopping;

    private ServerProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        _reading = Task.Run(ReadOutput);
    }

    public Uri BaseAddress { get; }

    public int Pid => _process.Id;

    /// <summary><c>NAME=VALUE</c> settings (<c>--server-env</c>) as pairs.</summary>
    public static IEnumerable<(string Name, string Value)> Variables(IEnumerable<string> settings)
    {
        foreach (var setting in settings)
        {
            var equals = setting.IndexOf('=', StringComparison.Ordinal);
            yield return (setting[..equals], setting[(equals + 1)..]);
        }
    }

    /// <param name="audioCache">Keep the server's audio cache at its default size (off otherwise).</param>
    /// <param name="settings">More server configuration, <c>section:key=value</c>.</param>
    /// <param name="serverGc">The shipped gateway's runtime settings: server GC (<c>Microsoft.NET.Sdk.Web</c>'s default) without background
    /// collections, and no dynamic PGO; this program runs workstation GC with PGO.</param>
    /// <param name="environment">More environment variables for the server, <c>NAME=VALUE</c> (they win over <paramref name="serverGc"/>).</param>
    /// <param name="program">Another build of this program to run the server from (an A/B comparison's other side); null: this one.</param>
    public static async Task<ServerProcess> Start(bool audioCache = false, IReadOnlyList<string>? settings = null, bool serverGc = false, IReadOnlyList<string>? environment = null,
        string? program = null)
    {
        var self = program ?? Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ServerProcess).Assembly.Location);
        }

        start.ArgumentList.Add("serve");
        if (audioCache)
        {
            start.ArgumentList.Add("--audio-cache");
        }

        foreach (var setting in settings ?? [])
        {
            start.ArgumentList.Add("--server-arg");
            start.ArgumentList.Add(setting);
        }

        if (serverGc)
        {
            // The shipped gateway's GC and JIT settings (Gateway/MitTts.Gateway.csproj); this program's own runtimeconfig has none of them.
            start.Environment["DOTNET_gcServer"] = "1";
            start.Environment["DOTNET_TieredPGO"] = "0";
            start.Environment["DOTNET_gcConcurrent"] = "0";
            start.Environment["DOTNET_GCConserveMemory"] = "5";
            start.Environment["DOTNET_GCLOHThreshold"] = "0x100000";
        }

        foreach (var (name, value) in Variables(environment ?? []))
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("listening ", StringComparison.Ordinal))
            {
                return new ServerProcess(process, new Uri(line["listening ".Length..]));
            }
        }

        throw new InvalidOperationException("the server process ended before listening");
    }

    /// <summary>Working set and GC heap after a full, compacting collection.</summary>
    public async Task<(long WorkingSet, long GcHeap)> Memory()
    {
        var parts = (await Ask("mem")).Split(' ');
        return (long.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    /// <summary>The GC's own figures as they are; no collection forced, so a soak's memory is not tidied by its sampling.</summary>
    public async Task<GcFigures> Heap()
    {
        var parts = (await Ask("heap")).Split(' ');
        return new GcFigures(long.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture),
            int.Parse(parts[3], CultureInfo.InvariantCulture));
    }

    /// <summary>The child's collections so far (<see cref="GcActivity"/>).</summary>
    public async Task<GcActivity> Gc()
    {
        var parts = (await Ask("gc")).Split(' ');
        return new GcActivity(double.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[2], CultureInfo.InvariantCulture),
            int.Parse(parts[3], CultureInfo.InvariantCulture), int.Parse(parts[4], CultureInfo.InvariantCulture),
            long.Parse(parts[5], CultureInfo.InvariantCulture), long.Parse(parts[6], CultureInfo.InvariantCulture), double.Parse(parts[7], CultureInfo.InvariantCulture));
    }

    private async Task<string> Ask(string command)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
        while (await _answers.Reader.WaitToReadAsync())
        {
            if (_answers.Reader.TryRead(out var line) && line.StartsWith(command + " ", StringComparison.Ordinal))
            {
                return line;
            }
        }

        throw new InvalidOperationException("the server process ended");
    }

    private async Task ReadOutput()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("mem ", StringComparison.Ordinal) || line.StartsWith("heap ", StringComparison.Ordinal)
                || line.StartsWith("gc ", StringComparison.Ordinal))
            {
                _answers.Writer.TryWrite(line);
            }
            else if (!_stopping)
            {
                Console.Error.WriteLine($"[server] {line}");
            }
        }

        _answers.Writer.TryComplete();
    }

    /// <summary>The child's side: serve until stdin closes. <c>mem</c> answers <c>mem WORKING_SET GC_HEAP</c> after a full collection;
    /// <c>heap</c> answers <c>heap HEAP_SIZE COMMITTED GEN2_COLLECTIONS</c> as of the last collection; <c>gc</c> answers
    /// <c>gc PAUSED_MS GEN0 GEN1 GEN2 ALLOCATED</c>, counted since the process started.</summary>
    public static async Task Serve(BenchOptions options)
    {
        await using var server = await EmbeddedServer.Start(options.AudioCache, options.ServerArgs);
        Console.WriteLine($"listening {server.BaseAddress}");
        while (await Console.In.ReadLineAsync() is { } command)
        {
            if (command == "mem")
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                using var self = Process.GetCurrentProcess();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mem {self.WorkingSet64} {GC.GetTotalMemory(false)}"));
            }
            else if (command == "heap")
            {
                var info = GC.GetGCMemoryInfo();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"heap {info.HeapSizeBytes} {info.TotalCommittedBytes} {GC.CollectionCount(2)}"));
            }
            else if (command == "gc")
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"gc {GC.GetTotalPauseDuration().TotalMilliseconds} {GC.CollectionCount(0)} {GC.CollectionCount(1)} {GC.CollectionCount(2)} {GC.GetTotalAllocatedBytes()} "
                    + $"{System.Runtime.JitInfo.GetCompiledMethodCount()} {System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds}"));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        // What a server says while it is made to stop (cancelled shutdown stages) is not news about the run.
        _stopping = true;
        _process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
        }

        await _reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _process.Dispose();
    }
}
