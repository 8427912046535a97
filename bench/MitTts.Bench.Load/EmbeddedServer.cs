using System.Globalization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using MitTts.Gateway.Hosting;

namespace MitTts.Bench.Load;

/// <summary>The embedded server (gateway + co-hosted silo) in this process, on free ports, quiet logs, audio cache off (every
/// request reaches the engine) unless asked to keep it.</summary>
internal sealed class EmbeddedServer : IAsyncDisposable
{
    private readonly Microsoft.AspNetCore.Builder.WebApplication _app;

    private EmbeddedServer(Microsoft.AspNetCore.Builder.WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    /// <param name="audioCache">Keep the audio cache at its default size instead of turning it off.</param>
    /// <param name="settings">More configuration (<c>section:key=value</c>), after ours, so it wins.</param>
    public static async Task<EmbeddedServer> Start(bool audioCache = false, IReadOnlyList<string>? settings = null)
    {
        List<string> args =
        [
            "--server:http_port=0",
            "--server:ws_port=0",
            $"--cluster:silo_port={FreePort()}",
            $"--cluster:gateway_port={FreePort()}",
            $"--tts:model_path={Path.Combine(AppContext.BaseDirectory, "models")}",
            "--logging:level=WARNING",
        ];
        if (!audioCache)
        {
            args.Add("--tts:cache_size=0");
        }

        args.AddRange((settings ?? []).Select(setting => setting.StartsWith("--", StringComparison.Ordinal) ? setting : "--" + setting));
        var app = GatewayApplication.Create([.. args]);
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        return new EmbeddedServer(app, new Uri(addresses.First()));
    }

    /// <summary>Stops the server, giving up after a few seconds: grains still winding down after a load must not hold the results.</summary>
    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _app.StopAsync(timeout.Token);
            await _app.DisposeAsync().AsTask().WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("the embedded server did not stop within 10 s; leaving it to the process exit");
        }
    }

    public static string FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
    }
}
