using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using MitTts.Gateway.Hosting;
using MitTts.Tests.Support;

namespace MitTts.Tests.Api;

/// <summary>The real gateway (Kestrel on a free loopback port, co-hosted silo) and a real HTTP client to it.</summary>
public sealed class RunningGateway : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RunningGateway(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public HttpClient Client { get; }

    public Uri BaseAddress { get; }

    /// <summary>The gateway's services (for what a test must find out from the server itself, such as a port it chose, or a grain to wait on rather than poll the API).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Every address Kestrel listens on: the HTTP port, then the WebSocket port when it has its own.</summary>
    public IReadOnlyList<Uri> Addresses { get; private init; } = [];

    /// <summary>Starts a gateway on free ports with the test models; <paramref name="args"/> add or override configuration.</summary>
    public static async Task<RunningGateway> Start(params string[] args)
    {
        string[] defaults =
        [
            "--server:host=127.0.0.1",
            "--server:http_port=0",
            "--server:ws_port=0",
            $"--cluster:silo_port={FreePort.Next().ToString(CultureInfo.InvariantCulture)}",
            $"--cluster:gateway_port={FreePort.Next().ToString(CultureInfo.InvariantCulture)}",
            $"--tts:model_path={Path.Combine(AppContext.BaseDirectory, "models")}",
            "--logging:level=WARNING",
        ];
        var app = GatewayApplication.Create([.. defaults, .. args]);
        await app.StartAsync();
        // Ready as a load balancer sees it: after the warm-up's own tasks, so they are in no test's counts.
        await app.Services.GetRequiredService<WarmUp>().Completion;
        // Kestrel lists its addresses in listen order: the HTTP port first, then the WebSocket port when it differs.
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToList();
        return new RunningGateway(app, addresses[0]) { Addresses = addresses };
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>One gateway shared by the API tests.</summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public const int MaxTextLength = 5000;

    private RunningGateway? _gateway;

    public HttpClient Client => _gateway!.Client;

    public Uri BaseAddress => _gateway!.BaseAddress;

    public async Task InitializeAsync() =>
        _gateway = await RunningGateway.Start($"--tts:max_text_length={MaxTextLength.ToString(CultureInfo.InvariantCulture)}");

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayFixture>
{
    public const string Name = "gateway";
}
