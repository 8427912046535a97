using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MitTts.Gateway.Hosting;

namespace MitTts.Tests.Api;

/// <summary><c>server:inline_scheduling</c>: on by default, Kestrel runs a connection's continuations where its socket operation completed
/// (what keeps an interrupt's acknowledgement from waiting for an I/O queue's turn under load); off, Kestrel's own default.</summary>
public sealed class KestrelSchedulingTests
{
    [Theory]
    [InlineData(null, true)]
    [InlineData("--server:inline_scheduling=true", true)]
    [InlineData("--server:inline_scheduling=false", false)]
    public async Task Inline_scheduling_is_on_unless_turned_off(string? setting, bool inline)
    {
        await using var app = GatewayApplication.Create(setting is null ? [] : [setting]);
        var sockets = app.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value;
        Assert.Equal(inline, sockets.UnsafePreferInlineScheduling);
    }
}
