using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace MitTts.Bench.Load;

/// <summary>Issue 7 scenario 5: <see cref="BenchOptions.Connections"/> idle WebSockets, each opened with <c>connect</c>; the server's
/// memory before and after, and whether every one still answers <c>ping</c>.</summary>
/// <remarks>The clients would blur an in-process measurement, so without <c>--url</c> the server runs in a child process
/// (this program with <c>serve</c>) that reports its own working set and GC heap.</remarks>
internal sealed class ConnectionsScenario(Uri? url, BenchOptions options, ResultTable table)
{
    public async Task Run()
    {
        await using var child = url is null ? await ServerProcess.Start(environment: options.ServerEnvironment) : null;
        var server = url ?? child!.BaseAddress;

        // Warm the server's code paths with a few connections first, so the delta is per connection, not first-use JIT.
        var warm = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => StreamClient.Open(server)));
        await Task.WhenAll(warm.Select(c => c.DisposeAsync().AsTask()));
        var before = await Memory(child, server);

        var clients = new List<StreamClient>(options.Connections);
        var opening = Stopwatch.StartNew();
        while (clients.Count < options.Connections)
        {
            var batch = Math.Min(100, options.Connections - clients.Count);
            clients.AddRange(await Task.WhenAll(Enumerable.Range(0, batch).Select(_ => StreamClient.Open(server))));
        }

        var openSeconds = opening.Elapsed.TotalSeconds;
        var after = await Memory(child, server);

        var answered = 0;
        await Task.WhenAll(clients.Select(async client =>
        {
            try
            {
                await client.Send("{\"type\":\"ping\"}");
                await client.ReceiveUntil(m => m.Type == "pong", TimeSpan.FromSeconds(30));
                Interlocked.Increment(ref answered);
            }
            catch (Exception e) when (e is TimeoutException or EndOfStreamException or System.Net.WebSockets.WebSocketException)
            {
            }
        }));

        foreach (var chunk in clients.Chunk(100))
        {
            await Task.WhenAll(chunk.Select(c => c.DisposeAsync().AsTask()));
        }

        var culture = CultureInfo.InvariantCulture;
        var n = options.Connections;
        var workingSetMb = (after.WorkingSet - before.WorkingSet) / 1048576.0;
        var heapMb = (after.GcHeap - before.GcHeap) / 1048576.0;
        table.Figure("5. connections", $"{n} idle WebSockets: server working set delta",
            string.Create(culture, $"{workingSetMb:0.0} MB ({workingSetMb * 1024 / n:0.0} KB each)"),
            string.Create(culture, $"before {before.WorkingSet / 1048576.0:0} MB"), "–", "< 100 MB", workingSetMb < 100);
        if (after.GcHeap >= 0)
        {
            table.Figure("5. connections", $"{n} idle WebSockets: server GC heap delta",
                string.Create(culture, $"{heapMb:0.0} MB ({heapMb * 1024 / n:0.0} KB each)"),
                string.Create(culture, $"before {before.GcHeap / 1048576.0:0} MB"), "–", "–", null);
        }

        table.Figure("5. connections", $"{n} idle WebSockets: answering ping", string.Create(culture, $"{answered} / {n}"),
            "–", string.Create(culture, $"opened in {openSeconds:0.0} s"), $"{n} / {n}", answered == n);
        table.Note(url is null
            ? "Connections: the server ran in a child process (`serve`), which measured its own working set and GC heap (after a full collection) before and after; each socket holds a session and its channel grain."
            : "Connections: memory from the server's `/api/v1/status` (working set only).");
    }

    private static async Task<(long WorkingSet, long GcHeap)> Memory(ServerProcess? child, Uri server)
    {
        if (child is not null)
        {
            return await child.Memory();
        }

        await Task.Delay(1500);
        using var http = new HttpClient { BaseAddress = server };
        var status = await http.GetFromJsonAsync<JsonElement>("/api/v1/status");
        return ((long)(status.GetProperty("resources").GetProperty("memory_mb").GetDouble() * 1048576), -1);
    }
}
