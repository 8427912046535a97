using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using MitTts.Gateway.Hosting;
using MitTts.Tests.Support;

namespace MitTts.Tests.Api;

/// <summary>The real gateway (Kestrel on a free loopback port, co-hosted silo) and a real HTTP client to it.</summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public const int MaxTextLength = 5000;

    private WebApplication? _app;

    public HttpClient Client { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        string[] args =
        [
            "--server:host=127.0.0.1",
            "--server:http_port=0",
            $"--cluster:silo_port={FreePort.Next().ToString(CultureInfo.InvariantCulture)}",
            $"--cluster:gateway_port={FreePort.Next().ToString(CultureInfo.InvariantCulture)}",
            $"--tts:model_path={Path.Combine(AppContext.BaseDirectory, "models")}",
            $"--tts:max_text_length={MaxTextLength.ToString(CultureInfo.InvariantCulture)}",
            "--logging:level=WARNING",
        ];
        _app = GatewayApplication.Create(args);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        BaseAddress = new Uri(address);
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayFixture>
{
    public const string Name = "gateway";
}
