using System.Reflection;
using MitTts.Gateway.Contracts;
using MitTts.Gateway.Hosting;
using MitTts.Gateway.Security;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Apis;

/// <summary><c>GET /health</c> and <c>GET /status</c>.</summary>
public static class ServerApi
{
    public static string Version { get; } =
        typeof(ServerApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    // Probes and `curl -I` ask with HEAD: the same answer without its body (Kestrel drops it).
    internal static readonly string[] GetOrHead = [HttpMethods.Get, HttpMethods.Head];

    public static RouteGroupBuilder MapServerApiV1(this RouteGroupBuilder api)
    {
        api.MapMethods("/health", GetOrHead, Health)
            .AllowAnonymous()
            .RequireRateLimiting(SecuritySetup.HealthLimit)
            .WithName("Health")
            .WithSummary("Liveness for load balancers: healthy when the cluster answers, degraded when Redis does not.")
            .Produces<HealthResponse>()
            .Produces<HealthResponse>(StatusCodes.Status503ServiceUnavailable);

        api.MapMethods("/ready", GetOrHead, Ready)
            .AllowAnonymous()
            .RequireRateLimiting(SecuritySetup.HealthLimit)
            .WithName("Ready")
            .WithSummary("Readiness for traffic: the cluster, Redis (cluster mode), engines, disk and memory; 503 unready. The checks themselves "
                + "only to an admin (anyone when auth is off); a probe without a token hears the verdict alone.")
            .Produces<ReadinessResponse>()
            .Produces<ReadinessResponse>(StatusCodes.Status503ServiceUnavailable);

        api.MapGet("/status", Status)
            .WithName("Status")
            .WithSummary("Server, engine and resource figures.")
            .Produces<StatusResponse>();
        return api;
    }

    /// <summary><c>GET /health</c>, <c>GET /ready</c> (the paths load balancers, Docker health checks and Kubernetes probes try first) and
    /// <c>GET /status</c> at the root too (<see cref="GatewayApplication.MapRootAliases"/>).</summary>
    public static IEndpointRouteBuilder MapRootServer(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/health", GetOrHead, Health).AllowAnonymous().RequireRateLimiting(SecuritySetup.HealthLimit);
        app.MapMethods("/ready", GetOrHead, Ready).AllowAnonymous().RequireRateLimiting(SecuritySetup.HealthLimit);
        app.MapGet("/status", Status);
        return app;
    }

    private static async Task<IResult> Health(ClusterHealth cluster, ResourceMonitor resources, TimeProvider time)
    {
        var probe = await cluster.Probe();
        var checks = new Dictionary<string, string> { ["cluster"] = probe.Cluster ? "ok" : "unreachable" };
        if (probe.Redis is { } redis)
        {
            checks["redis"] = redis ? "ok" : "unreachable";
        }

        // Degraded still answers 200: every gateway shares the same Redis, so taking this one out of rotation would not help.
        var body = new HealthResponse(probe.Status, Version, (long)resources.Uptime.TotalSeconds, time.GetUtcNow(), checks);
        return probe.Cluster ? TypedResults.Ok(body) : TypedResults.Json(body, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<IResult> Ready(HttpContext http, Readiness readiness)
    {
        var (ready, checks) = await readiness.Check();
        var status = ready ? "ready" : "unready";
        var code = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;

        // A Kubernetes probe holds no token: it needs the verdict, not which part of the deployment is failing.
        return Caller.From(http).IsAdmin
            ? TypedResults.Json(new ReadinessResponse(status, checks), statusCode: code)
            : TypedResults.Json(new ReadinessVerdict(status), statusCode: code);
    }

    private static async Task<StatusResponse> Status(IGrainFactory grains, ResourceMonitor resources, ConnectionCounter connections, GatewayMode mode, AlertMonitor alerts)
    {
        var voicesTask = grains.GetGrain<IVoiceCatalogGrain>(0).ListVoices();
        var memoryTask = grains.GetGrain<IMemoryStatusGrain>(0).GetStatus();
        var problemsTask = grains.GetGrain<IVoiceCatalogGrain>(0).GetModelProblems();
        var deviceKeys = await grains.GetGrain<IDeviceDirectoryGrain>(0).GetDevices();
        var devices = await Task.WhenAll(deviceKeys.Select(key => grains.GetGrain<ISynthesizerGrain>(key).GetStatus()));
        var voices = await voicesTask;

        var available = voices.Where(v => v.IsAvailable).ToArray();
        var engine = new EngineStatus(
            available.Length > 0 ? "ready" : "unavailable",
            [.. available.Select(v => v.Engine).Distinct(StringComparer.Ordinal)],
            [.. available.Select(v => v.Language).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            [.. available.Select(v => v.Id)],
            devices.Sum(d => d.QueueLength),
            [.. devices.Select(d => new DeviceStatus(
                d.DeviceKey,
                d.Busy,
                d.QueueLength,
                d.QueuedByPriority.ToDictionary(p => p.Key.ToString().ToLowerInvariant(), p => p.Value),
                Math.Round(d.WorkAheadSeconds, 3),
                d.Completed,
                d.Failed,
                d.Preemptions,
                d.Cancellations,
                d.Rejections,
                d.Neural?.ExecutionProvider,
                d.Neural?.FallbackReason,
                d.Neural is { } neural ? [.. neural.Models.Select(m => new LoadedModelStatus(m.Path, m.Engine, m.FileBytes))] : null,
                d.Batches,
                d.BatchedJobs,
                d.LargestBatch))],
            [.. (await problemsTask).Select(p => new ModelProblemStatus(p.Path, p.Reason))]);

        var sample = resources.Current;
        var memory = await memoryTask;
        var results = memory.Results;
        return new StatusResponse(
            new ServerStatus("running", mode.Description, connections.Current, (long)resources.Uptime.TotalSeconds, Version),
            engine,
            new ResourceStatus(sample.CpuPercent, sample.MemoryMb, sample.DiskUsedMb, sample.DiskFreeMb, sample.MemoryTotalMb),
            new ResultStoreStatus(results.Kind, results.Records, results.AudioEntries, results.MemoryBytes, results.MemoryBudgetBytes,
                results.DiskBytes, results.DiskBudgetBytes, results.Evictions, results.Expirations),
            new ChannelBufferStatus(memory.ChannelBufferBytes, memory.ChannelBufferBudgetBytes, memory.BufferingChannels, memory.ChannelShedRounds,
                memory.Sessions, memory.MaxSessions),
            [.. alerts.Active.Select(a => new AlertStatus(a.Name, a.Value, a.Threshold, a.Unit, a.Since))]);
    }
}
