using System.Globalization;
using MitTts.Bench.Load;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using MitTts.Gateway.Hosting;

// Usage: dotnet run -c Release --project bench/MitTts.Bench.Load -- [scheduling] [--url http://host:8000] [--seconds 10] [--overload 1.5]
// Without --url it starts the embedded server in this process on free loopback ports and measures it.
var options = Arguments.Parse(args);
await using var server = options.Url is null ? await EmbeddedServer.Start() : null;
using var client = new HttpClient { BaseAddress = options.Url ?? server!.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };

var report = await new SchedulingScenario(client, options.Seconds, options.Overload).Run();
var machine = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}";
var output = $"## MitTts load benchmark, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC\n\nMachine: {machine}.\n\n{report}";
Console.WriteLine(output);
Directory.CreateDirectory(options.ResultsFolder);
await File.WriteAllTextAsync(Path.Combine(options.ResultsFolder, "scheduling.md"), output);

internal sealed record Arguments(Uri? Url, double Seconds, double Overload, string ResultsFolder)
{
    public static Arguments Parse(string[] args)
    {
        Uri? url = null;
        double seconds = 10, overload = 1.5;
        var results = Path.Combine("bench", "results");
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--url": url = new Uri(args[++i]); break;
                case "--seconds": seconds = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--overload": overload = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--results": results = args[++i]; break;
                case "scheduling": break;
                default: throw new ArgumentException($"Unknown argument '{args[i]}'.");
            }
        }

        return new Arguments(url, seconds, overload, results);
    }
}

/// <summary>The embedded server (gateway + co-hosted silo) in this process, on free ports, quiet logs.</summary>
internal sealed class EmbeddedServer : IAsyncDisposable
{
    private readonly Microsoft.AspNetCore.Builder.WebApplication _app;

    private EmbeddedServer(Microsoft.AspNetCore.Builder.WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public static async Task<EmbeddedServer> Start()
    {
        var app = GatewayApplication.Create(
        [
            "--server:http_port=0",
            $"--cluster:silo_port={FreePort()}",
            $"--cluster:gateway_port={FreePort()}",
            $"--tts:model_path={Path.Combine(AppContext.BaseDirectory, "models")}",
            "--tts:cache_size=0",
            "--logging:level=WARNING",
        ]);
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        return new EmbeddedServer(app, new Uri(addresses.First()));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static string FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
    }
}
