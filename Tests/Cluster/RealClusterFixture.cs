using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MitTts.Tests.Support;
using MitTts.Tests.WebSockets;
using StackExchange.Redis;

namespace MitTts.Tests.Cluster;

/// <summary>A real cluster on loopback: redis-server, silos a and b, client gateways a and b, nginx in front; built dlls run with <c>dotnet</c>.</summary>
/// <remarks>Tests may kill any process; <see cref="EnsureHealthy"/> brings the topology back before the next one.</remarks>
public class RealClusterFixture : IAsyncLifetime
{
    private static readonly TimeSpan s_startLimit = TimeSpan.FromSeconds(90);

    private readonly string _state = Directory.CreateTempSubdirectory("mittts-cluster-").FullName;
    private readonly Dictionary<string, ClusterProcess> _processes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Uri> _gateways = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Uri> _siloMetrics = new(StringComparer.Ordinal);

    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>Debug or Release, as the tests themselves were built.</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    public int RedisPort { get; } = FreePort.Next();

    /// <summary>gateway-a's Wyoming port (<c>MIT_TTS_WYOMING_PORT</c>); the other gateway has the protocol off.</summary>
    public int WyomingPort { get; } = FreePort.Next();

    /// <summary>Variables every gateway gets besides the topology's own.</summary>
    protected virtual IReadOnlyDictionary<string, string> GatewaySettings { get; } = new Dictionary<string, string>();

    public string RedisEndpoint => $"127.0.0.1:{RedisPort.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>nginx, balancing across both gateways.</summary>
    public HttpClient Balancer { get; private set; } = null!;

    public string StateDirectory => _state;

    public static string BinaryFolder(string project) => Path.Combine(RepositoryRoot, project, "bin", Configuration, "net10.0");

    public HttpClient Gateway(string name)
    {
        var client = new HttpClient { BaseAddress = _gateways[name], Timeout = TimeSpan.FromSeconds(60) };
        if (FixtureToken is { } token)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    /// <summary>The access token the fixture's own requests carry (a cluster with auth on); null when auth is off.</summary>
    protected virtual string? FixtureToken => null;

    /// <summary>A silo's own metrics port (<c>MIT_TTS_PROMETHEUS_PORT</c>), serving <c>/metrics</c>.</summary>
    public Uri SiloMetrics(string silo) => _siloMetrics[silo];

    public ClusterProcess Process(string name) => _processes[name];

    /// <summary>Sends <paramref name="request"/> <paramref name="tasks"/> times on the session, waits until its audio flows, then SIGKILLs
    /// the silo synthesizing it (<see cref="KillSiloSynthesizing"/>); every message received so far is added to <paramref name="messages"/>.</summary>
    public async Task<(List<string> TaskIds, string Victim)> StreamThenKillItsSilo(ProtocolClient client, object request, int tasks, List<ServerMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(messages);
        var taskIds = new List<string>();
        for (var i = 0; i < tasks; i++)
        {
            await client.Send(request);
            messages.AddRange(await client.ReceiveUntil(m => m.Str("status") == "queued"));
            taskIds.Add(messages[^1].Str("task_id")!);
        }

        if (!messages.Any(m => m.IsAudio))
        {
            messages.AddRange(await client.ReceiveUntil(m => m.IsAudio));
        }

        return (taskIds, await KillSiloSynthesizing(taskIds));
    }

    /// <summary>SIGKILLs the silo whose synthesizer holds the first of <paramref name="taskIds"/> still queued or running (as
    /// <c>/tasks</c> names its device), so the killed silo provably held work; returns its name.</summary>
    public async Task<string> KillSiloSynthesizing(IEnumerable<string> taskIds)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        foreach (var id in taskIds)
        {
            using var response = await Balancer.GetAsync($"/api/v1/tasks/{id}");
            var task = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (task.GetProperty("status").GetString() is "processing" or "queued" && task.TryGetProperty("device", out var d) && d.GetString() is { } device)
            {
                var victim = device.Split('/')[0];
                await Process(victim).Kill();
                return victim;
            }
        }

        throw new Xunit.Sdk.XunitException("no task of the session was still queued or running on a device");
    }

    /// <summary>SIGKILLs the silo of the one synthesizer running a job (as <c>/status</c> shows it), for a client that is told no task
    /// id (Wyoming); the test must be the cluster's only work. Returns the silo's name.</summary>
    public async Task<string> KillSiloOfTheBusyDevice()
    {
        using var response = await Balancer.GetAsync("/api/v1/status");
        var status = await response.Content.ReadFromJsonAsync<JsonElement>();
        var busy = status.GetProperty("tts_engine").GetProperty("devices").EnumerateArray().Where(d => d.GetProperty("busy").GetBoolean()).ToList();
        if (busy.Count != 1)
        {
            throw new Xunit.Sdk.XunitException($"{busy.Count} devices were running a job; the test needs exactly one");
        }

        var victim = busy[0].GetProperty("key").GetString()!.Split('/')[0];
        await Process(victim).Kill();
        return victim;
    }

    public async Task InitializeAsync()
    {
        var redisDirectory = Directory.CreateDirectory(Path.Combine(_state, "redis")).FullName;
        Add("redis", "redis-server", ["--bind", "127.0.0.1", "--port", RedisPort.ToString(CultureInfo.InvariantCulture), "--dir", redisDirectory, "--appendonly", "yes", "--save", "", "--maxmemory", "512mb", "--maxmemory-policy", "volatile-ttl"], _state);
        foreach (var silo in new[] { "silo-a", "silo-b" })
        {
            var metricsPort = FreePort.Next();
            _siloMetrics[silo] = new Uri($"http://127.0.0.1:{metricsPort.ToString(CultureInfo.InvariantCulture)}");
            Add(silo, "dotnet", ["MitTts.Silo.dll"], BinaryFolder("Silo"), new Dictionary<string, string>
            {
                ["MIT_TTS_PROMETHEUS_PORT"] = metricsPort.ToString(CultureInfo.InvariantCulture),
                ["MIT_TTS_REDIS_URL"] = $"redis://{RedisEndpoint}",
                ["MIT_TTS_NODE_NAME"] = silo,
                ["MIT_TTS_ADVERTISED_IP"] = "127.0.0.1",
                ["MIT_TTS_SILO_PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
                ["MIT_TTS_GATEWAY_PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
                ["MIT_TTS_LOG_LEVEL"] = "INFO",
            });
        }

        var servers = string.Empty;
        foreach (var gateway in new[] { "gateway-a", "gateway-b" })
        {
            var port = FreePort.Next();
            _gateways[gateway] = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
            servers += $"server 127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)} max_fails=1 fail_timeout=5s; ";
            var settings = new Dictionary<string, string>(GatewaySettings)
            {
                ["MIT_TTS_REDIS_URL"] = $"redis://{RedisEndpoint}",
                ["MIT_TTS_GATEWAY_MODE"] = "client",
                ["MIT_TTS_NODE_NAME"] = gateway,
                ["MIT_TTS_HOST"] = "127.0.0.1",
                ["MIT_TTS_HTTP_PORT"] = port.ToString(CultureInfo.InvariantCulture),
                // WebSocket on the HTTP port: nginx sends /ws there, and two gateways on one machine must not share 8001.
                ["MIT_TTS_WS_PORT"] = port.ToString(CultureInfo.InvariantCulture),
                ["MIT_TTS_LOG_LEVEL"] = "WARNING",
            };
            if (gateway == "gateway-a")
            {
                settings["MIT_TTS_WYOMING_PORT"] = WyomingPort.ToString(CultureInfo.InvariantCulture);
            }

            Add(gateway, "dotnet", ["MitTts.Gateway.dll"], BinaryFolder("Gateway"), settings);
        }

        var nginxPort = FreePort.Next();
        WriteNginxConfig(nginxPort, servers);
        Add("nginx", File.Exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx", ["-p", Path.Combine(_state, "nginx"), "-c", Path.Combine(_state, "nginx", "nginx.conf")], _state);
        Balancer = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{nginxPort.ToString(CultureInfo.InvariantCulture)}"), Timeout = TimeSpan.FromSeconds(60) };

        _processes["redis"].Start();
        await WaitFor(RedisAnswers, "redis-server");
        foreach (var name in new[] { "silo-a", "silo-b", "gateway-a", "gateway-b", "nginx" })
        {
            _processes[name].Start();
        }

        await EnsureHealthy();
    }

    /// <summary>Restarts whatever a test left dead and waits until both gateways are ready (warm-up included) and both silos serve
    /// behind each, and nginx answers.</summary>
    public async Task EnsureHealthy()
    {
        if (!_processes["redis"].IsRunning)
        {
            _processes["redis"].Start();
            await WaitFor(RedisAnswers, "redis-server");
        }

        foreach (var process in _processes.Values.Where(p => !p.IsRunning))
        {
            process.Start();
        }

        await using var redis = await ConnectionMultiplexer.ConnectAsync(RedisEndpoint + ",abortConnect=false");
        await WaitFor(async () =>
        {
            foreach (var name in _gateways.Keys)
            {
                using var client = Gateway(name);
                if (await DeviceCount(client) != 2 || !(await client.GetAsync("/api/v1/ready")).IsSuccessStatusCode)
                {
                    return false;
                }
            }

            return (await Balancer.GetAsync("/api/v1/health")).IsSuccessStatusCode && await MembershipSettled(redis);
        }, "two silos behind both gateways, both ready, nginx, and exactly the two running silos active in the membership table");
    }

    /// <summary>The membership table lists exactly the two running silos as active and none joining: a killed silo's old incarnation is
    /// declared dead, its restart has joined. Before that the gateways may already answer ready, but a grain whose directory partition
    /// the dead incarnation owned cannot register, and its new activation is dropped with what it held in memory (a text task's record
    /// read the instant its processing status named it came back 404). An active entry counts only if it is the incarnation of the
    /// process running now (started after it): a killed silo's old entry, not yet declared dead, beside the other silo's, also made
    /// two active entries while its restart had not joined yet, and a test ran on that half-restarted cluster.</summary>
    private async Task<bool> MembershipSettled(ConnectionMultiplexer redis)
    {
        try
        {
            var database = redis.GetDatabase();
            var active = 0;
            foreach (var endpoint in redis.GetEndPoints())
            {
                await foreach (var key in redis.GetServer(endpoint).KeysAsync(pattern: "*/members/*"))
                {
                    foreach (var entry in await database.HashGetAllAsync(key))
                    {
                        if (entry.Name == "Version")
                        {
                            continue;
                        }

                        using var member = JsonDocument.Parse(entry.Value.ToString());
                        switch (member.RootElement.GetProperty("Status").GetInt32())
                        {
                            case 3: // Active
                                if (!IsCurrentIncarnation(member.RootElement))
                                {
                                    return false;
                                }

                                active++;
                                break;
                            case 6: // Dead
                                break;
                            default: // Created, Joining, ShuttingDown, Stopping: on its way in or out
                                return false;
                        }
                    }
                }
            }

            return active == 2;
        }
        catch (RedisException)
        {
            return false;
        }
    }

    /// <summary>Whether a membership entry is that of the silo process of its name running now, not of an earlier one.</summary>
    private bool IsCurrentIncarnation(JsonElement member) =>
        member.GetProperty("SiloName").GetString() is { } name
        && _processes.TryGetValue(name, out var process)
        && process.IsRunning
        && member.GetProperty("StartTime").GetDateTimeOffset() >= process.StartedAt;

    /// <summary>Starts redis-server again on the same port and data folder.</summary>
    public async Task StartRedis()
    {
        _processes["redis"].Start();
        await WaitFor(RedisAnswers, "redis-server");
    }

    /// <summary>How many synthesizer devices a gateway sees through <c>/status</c>; -1 when it does not answer.</summary>
    public static async Task<int> DeviceCount(HttpClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        try
        {
            var response = await client.GetAsync("/api/v1/status");
            if (!response.IsSuccessStatusCode)
            {
                return -1;
            }

            var status = await response.Content.ReadFromJsonAsync<JsonElement>();
            return status.GetProperty("tts_engine").GetProperty("devices").GetArrayLength();
        }
        catch (HttpRequestException)
        {
            return -1;
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with the processes' logs after the start limit.</summary>
    public async Task WaitFor(Func<Task<bool>> condition, string what, TimeSpan? limit = null, Func<Task<string>>? describe = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow + (limit ?? s_startLimit);
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or System.Net.Sockets.SocketException)
            {
                // Not up yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                var state = describe is null ? string.Empty : await describe() + "\n";
                throw new TimeoutException($"Waited in vain for {what}.\n{state}{Logs()}");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>The tail of every process's log, for failure messages.</summary>
    public string Logs() => string.Join('\n', _processes.Values.Select(p =>
    {
        var log = p.ReadLog();
        return $"--- {p.Name} ({(p.IsRunning ? "running" : "stopped")})\n{(log.Length > 3000 ? log[^3000..] : log)}";
    }));

    public async Task DisposeAsync()
    {
        Balancer?.Dispose();
        foreach (var name in new[] { "nginx", "gateway-a", "gateway-b", "silo-a", "silo-b", "redis" })
        {
            if (_processes.TryGetValue(name, out var process))
            {
                await process.Stop(TimeSpan.FromSeconds(3));
                process.Dispose();
            }
        }

        if (Environment.GetEnvironmentVariable("MITTTS_KEEP_CLUSTER_LOGS") == "1")
        {
            return;
        }

        try
        {
            Directory.Delete(_state, recursive: true);
        }
        catch (IOException)
        {
            // A straggler still writes its log; the temp folder is harmless.
        }
    }

    private void Add(string name, string fileName, string[] arguments, string workingDirectory, Dictionary<string, string>? environment = null) =>
        _processes[name] = new ClusterProcess(name, fileName, arguments, workingDirectory, Path.Combine(_state, name + ".log"), environment);

    private async Task<bool> RedisAnswers()
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, RedisPort);
        await using var stream = tcp.GetStream();
        await stream.WriteAsync("PING\r\n"u8.ToArray());
        var buffer = new byte[64];
        var read = await stream.ReadAsync(buffer);
        return System.Text.Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
    }

    /// <summary>The same server template scripts/cluster.sh and docker-compose use, inside a minimal main config.</summary>
    private void WriteNginxConfig(int port, string servers)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_state, "nginx")).FullName;
        // nginx started as root runs its worker as nobody, which spools request bodies larger than its buffer under body/: the temp
        // folder's 0700 would make every such request a 500.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_state, (UnixFileMode)0b111_101_101);
        }
        Directory.CreateDirectory(Path.Combine(folder, "logs"));
        var template = File.ReadAllText(Path.Combine(RepositoryRoot, "deploy", "nginx", "mittts.conf.template"));
        File.WriteAllText(Path.Combine(folder, "mittts.conf"), template
            .Replace("${MITTTS_LISTEN}", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", StringComparison.Ordinal)
            .Replace("${MITTTS_GATEWAYS}", servers, StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(folder, "nginx.conf"), $$"""
            daemon off;
            worker_processes 1;
            pid {{folder}}/nginx.pid;
            error_log {{folder}}/logs/error.log warn;
            events { worker_connections 1024; }
            http {
                access_log {{folder}}/logs/access.log;
                client_body_temp_path {{folder}}/body;
                proxy_temp_path {{folder}}/proxy;
                fastcgi_temp_path {{folder}}/fastcgi;
                uwsgi_temp_path {{folder}}/uwsgi;
                scgi_temp_path {{folder}}/scgi;
                include {{folder}}/mittts.conf;
            }
            """);
    }

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "MitTts.Orleans.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("The tests run from inside the repository (MitTts.Orleans.sln not found above them).");
    }
}

/// <summary>The cluster tests: one real cluster, run alone (no other collection competes for the 2 cores).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealClusterCollection : ICollectionFixture<RealClusterFixture>
{
    public const string Name = "real cluster";
}
