using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using MitTts.Gateway.Hosting;
using MitTts.Tests.Observability;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Api;

/// <summary>The warm-up before <c>/ready</c> (<see cref="WarmUp"/>): a fresh gateway speaks every format once through its own socket
/// before it says ready, and that work shows nowhere a caller or an operator counts: not in metrics, device counts, connections or any
/// rate limit budget.</summary>
public sealed class WarmUpTests
{
    [Fact]
    public async Task A_fresh_gateway_says_ready_after_speaking_every_format_and_spends_no_budget_or_device_count()
    {
        // Address rate limits on for loopback, so a budget the warm-up spent would show.
        await using var gateway = await RunningGateway.Start(
            "--security:rate_limits:exempt_loopback=false", "--security:rate_limits:websocket=3/minute", "--security:rate_limits:synthesize=2/minute");
        var warmUp = gateway.Services.GetRequiredService<WarmUp>();
        Assert.True(warmUp.Completion.IsCompleted);
        Assert.Equal(["pcm", "wav", "ogg", "mp3", "flac", "aac", "mulaw"], WarmUp.Formats);
        Assert.Equal(WarmUp.Formats, warmUp.Spoken);

        var ready = await gateway.Client.GetFromJsonAsync<JsonObject>("/api/v1/ready");
        Assert.Equal("ready", ready!["status"]!.GetValue<string>());
        Assert.Equal("ok", ready["checks"]!["warm_up"]!.GetValue<string>());

        var status = await gateway.Client.GetFromJsonAsync<JsonObject>("/api/v1/status");
        Assert.Equal(1, status!["server"]!["connections"]!.GetValue<int>()); // this request's own
        var device = status["tts_engine"]!["devices"]!.AsArray().Single()!;
        Assert.Equal((0L, 0L, 0L), (device["completed"]!.GetValue<long>(), device["failed"]!.GetValue<long>(), device["queue_length"]!.GetValue<long>()));

        // Every budget is whole: three socket messages, then a refusal; two syntheses, then a 429.
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        for (var i = 0; i < 3; i++)
        {
            await client.Send(new { type = "synthesize", text = "Hola.", format = "pcm", request_id = $"r{i}" });
        }

        await client.Send(new { type = "synthesize", text = "Hola.", format = "pcm", request_id = "over" });
        var refused = (await client.ReceiveUntil(m => m.Type == "error"))[^1];
        Assert.Equal(("rate_limited", "over"), (refused.Str("code"), refused.Str("request_id")));
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.PostAsJsonAsync("/api/v1/synthesize", new { text = "hola" })).StatusCode);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await gateway.Client.PostAsJsonAsync("/api/v1/synthesize", new { text = "hola" })).StatusCode);
    }

    [Fact]
    public async Task The_warm_up_of_a_fresh_server_process_shows_in_no_metric()
    {
        // A process of its own (the in-process test gateways share meter names), started when /ready says so.
        await using var server = await GatewayProcess.Start();

        Assert.Contains(server.LogLines(), l => l.Contains("Warmed up in", StringComparison.Ordinal));
        var metrics = await server.Client.GetStringAsync("/metrics");
        foreach (var name in new[]
        {
            "mittts_tts_latency_seconds_count", "mittts_synthesis_audio_seconds_total", "mittts_synthesis_real_time_factor_count",
            "mittts_scheduler_wait_time_seconds_count", "mittts_first_audio_seconds_count", "mittts_stream_first_audio_stage_seconds_count",
            "mittts_stream_gateway_stage_seconds_count", "mittts_cache_hits_total",
        })
        {
            Assert.True(PrometheusText.Sum(metrics, name) is null or 0, $"{name}: {PrometheusText.Sum(metrics, name)}");
        }

        Assert.True(PrometheusText.Sum(metrics, "mittts_websocket_connections") is null or 0);
        Assert.True(PrometheusText.Sum(metrics, "mittts_queue_size") is null or 0);
    }

    [Fact]
    public async Task The_embedded_server_opens_its_port_only_once_warm_so_its_first_health_answer_finds_it_ready()
    {
        // Waiting for health only, as a client that just waits for the server to answer.
        await using var server = await GatewayProcess.Start(probe: "/api/v1/health");
        var ready = await server.Client.GetFromJsonAsync<JsonObject>("/api/v1/ready");
        Assert.Equal(("ready", "ok"), (ready!["status"]!.GetValue<string>(), ready["checks"]!["warm_up"]!.GetValue<string>()));
        Assert.Contains(server.LogLines(), l => l.Contains("Warmed up in", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_embedded_server_whose_default_voice_no_engine_speaks_tries_once_and_starts_without_the_warm_up()
    {
        // What this server refuses now it refuses on every attempt: the port must not stay closed for the warm-up's whole limit.
        using var catalogue = await UnspeakableCatalogue.Create();
        await using var gateway = await RunningGateway.Start(catalogue.Settings);
        var warmUp = gateway.Services.GetRequiredService<WarmUp>();

        Assert.Equal(1, warmUp.Attempts);
        Assert.Empty(warmUp.Spoken);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/api/v1/health")).StatusCode);
    }

    [Fact]
    public async Task With_the_warm_up_off_the_gateway_is_ready_at_once_and_speaks_nothing_before_its_first_caller()
    {
        await using var gateway = await RunningGateway.Start("--server:warm_up=false");
        var warmUp = gateway.Services.GetRequiredService<WarmUp>();
        Assert.True(warmUp.Completion.IsCompleted);
        Assert.Empty(warmUp.Spoken);
        var ready = await gateway.Client.GetFromJsonAsync<JsonObject>("/api/v1/ready");
        Assert.Equal("ok", ready!["checks"]!["warm_up"]!.GetValue<string>());
    }
}
