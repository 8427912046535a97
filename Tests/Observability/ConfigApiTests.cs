using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using MitTts.Tests.Api;
using Serilog.Core;
using Serilog.Events;

namespace MitTts.Tests.Observability;

/// <summary><c>GET|PUT /api/v1/config</c>: the live settings, validated field by field, in effect at once without a restart.</summary>
public sealed class ConfigApiTests
{
    [Fact]
    public async Task Get_answers_the_seed_values_and_put_refuses_bad_values_naming_the_field()
    {
        await using var gateway = await RunningGateway.Start();
        var config = await (await gateway.Client.GetAsync("/api/v1/config")).Json();
        Assert.Equal(0, config.GetProperty("version").GetInt64());
        Assert.Equal(100, config.GetProperty("rate_limits").GetProperty("synthesize_per_minute").GetInt32());
        Assert.Equal(1000, config.GetProperty("rate_limits").GetProperty("websocket_per_minute").GetInt32());
        Assert.Equal(1000, config.GetProperty("rate_limits").GetProperty("health_per_minute").GetInt32());
        Assert.Equal("es-female-1", config.GetProperty("tts").GetProperty("default_voice").GetString());
        Assert.Equal(1000, config.GetProperty("tts").GetProperty("cache_size").GetInt32());
        Assert.Equal(5000, config.GetProperty("tts").GetProperty("max_text_length").GetInt32());
        Assert.Equal(500, config.GetProperty("scheduling").GetProperty("max_queue_per_level").GetInt32());
        Assert.Equal("WARNING", config.GetProperty("logging").GetProperty("level").GetString());

        (string Body, string Code, string? Field)[] refused =
        [
            ("""{"tts": {"max_text_length": 0}}""", "config_value_out_of_range", "tts.max_text_length"),
            ("""{"tts": {"cache_size": "many"}}""", "invalid_config_value", "tts.cache_size"),
            ("""{"rate_limits": {"synthesize_per_minute": 2.5}}""", "invalid_config_value", "rate_limits.synthesize_per_minute"),
            ("""{"scheduling": {"max_queue_per_level": 1000000}}""", "config_value_out_of_range", "scheduling.max_queue_per_level"),
            ("""{"tts": {"speed": 2}}""", "unknown_config_field", "tts.speed"),
            ("""{"logging": {"level": "LOUD"}}""", "invalid_log_level", "logging.level"),
            ("""{"tts": {"default_voice": "Maria"}}""", "invalid_voice_id", "tts.default_voice"),
            ("""{"tts": {"default_voice": "xx-nobody-9"}}""", "voice_not_found", "tts.default_voice"),
            ("""{"tts": 5}""", "invalid_config_value", "tts"),
            ("""{"foo": {}}""", "unknown_config_field", "foo"),
            ("""{"unknown_section": 5}""", "unknown_config_field", "unknown_section"),
            ("""{"tts": {""", "invalid_json", null),
        ];
        foreach (var (body, code, field) in refused)
        {
            await (await Put(gateway, body)).AssertProblem(HttpStatusCode.BadRequest, code, field);
        }

        // Nothing of a refused body was applied.
        Assert.Equal(0, (await (await gateway.Client.GetAsync("/api/v1/config")).Json()).GetProperty("version").GetInt64());

        // A level's other spellings are read and stored under its one name.
        var warn = await (await Put(gateway, """{"logging": {"level": " warn "}}""")).Json();
        Assert.Equal("WARNING", warn.GetProperty("logging").GetProperty("level").GetString());
        Assert.Equal("TRACE", (await (await Put(gateway, """{"logging": {"level": "verbose"}}""")).Json()).GetProperty("logging").GetProperty("level").GetString());
    }

    [Fact]
    public async Task A_put_takes_effect_at_once_for_text_length_default_voice_cache_queue_rate_limits_and_log_level()
    {
        await using var gateway = await RunningGateway.Start();
        var client = gateway.Client;

        // Cached before the change: a repeat is a cache hit.
        await Finished(client, "Hola caché.", "es-female-1");
        Assert.True((await Finished(client, "Hola caché.", "es-female-1")).GetProperty("cache_hit").GetBoolean());

        var answer = await (await Put(gateway, """
            {"tts": {"max_text_length": 12, "default_voice": "en-male-1", "cache_size": 0},
             "rate_limits": {"synthesize_per_minute": 7}, "logging": {"level": "debug"}}
            """)).Json();
        Assert.Equal(1, answer.GetProperty("version").GetInt64());
        Assert.Equal(12, answer.GetProperty("tts").GetProperty("max_text_length").GetInt32());
        Assert.Equal(7, answer.GetProperty("rate_limits").GetProperty("synthesize_per_minute").GetInt32());
        Assert.Equal(1000, answer.GetProperty("rate_limits").GetProperty("websocket_per_minute").GetInt32());
        Assert.Equal("DEBUG", answer.GetProperty("logging").GetProperty("level").GetString());

        await (await client.Synthesize(new { text = "Trece letras." })).AssertProblem(HttpStatusCode.BadRequest, "text_too_long", "text");
        Assert.Equal("en-male-1", (await Finished(client, "Hello there.")).GetProperty("voice_id").GetString());
        Assert.False((await Finished(client, "Hola caché.", "es-female-1")).GetProperty("cache_hit").GetBoolean());
        Assert.Equal(LogEventLevel.Debug, gateway.Services.GetRequiredService<LoggingLevelSwitch>().MinimumLevel);

        // Queue limits: with one job per level, a third normal job is refused while the first runs and the second waits.
        (await Put(gateway, """{"tts": {"max_text_length": 5000}, "scheduling": {"max_queue_per_level": 1}}""")).EnsureSuccessStatusCode();
        var longText = string.Join(' ', Enumerable.Repeat("This long text keeps the only engine slot busy for a while.", 80));
        (await client.Synthesize(new { text = longText })).EnsureSuccessStatusCode();
        (await client.Synthesize(new { text = "Queued behind it." })).EnsureSuccessStatusCode();
        await (await client.Synthesize(new { text = "One too many." })).AssertProblem(HttpStatusCode.TooManyRequests, "busy");
    }

    [Fact]
    public async Task Rate_limits_follow_a_put_at_once()
    {
        // Loopback callers are exempt while auth is off, unless told otherwise.
        await using var gateway = await RunningGateway.Start("--security:rate_limits:exempt_loopback=false");
        (await Put(gateway, """{"rate_limits": {"synthesize_per_minute": 2}}""")).EnsureSuccessStatusCode();

        for (var i = 0; i < 2; i++)
        {
            (await gateway.Client.Synthesize(new { text = $"Dentro del límite {i}." })).EnsureSuccessStatusCode();
        }

        await (await gateway.Client.Synthesize(new { text = "Una de más." })).AssertProblem(HttpStatusCode.TooManyRequests, "rate_limited");

        // Lifting it ("0": no limit) takes effect as quickly.
        (await Put(gateway, """{"rate_limits": {"synthesize_per_minute": 0}}""")).EnsureSuccessStatusCode();
        using var lifted = await gateway.Client.Synthesize(new { text = "Ya sin límite." });
        Assert.True(lifted.IsSuccessStatusCode, $"{(int)lifted.StatusCode}: {await lifted.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task A_rate_lowered_live_counts_the_requests_already_made_in_its_window()
    {
        // Eight probes under the default 1000 a minute (the gateway fetched a batch of permits for them), then 5 a minute: over it
        // already, so the next probe is refused at once, neither served from the old batch nor counted from zero.
        await using var gateway = await RunningGateway.Start("--security:rate_limits:exempt_loopback=false");
        for (var i = 0; i < 8; i++)
        {
            (await gateway.Client.GetAsync("/api/v1/health")).EnsureSuccessStatusCode();
        }

        (await Put(gateway, """{"rate_limits": {"health_per_minute": 5}}""")).EnsureSuccessStatusCode();
        using var refused = await gateway.Client.GetAsync("/api/v1/health");
        await refused.AssertProblem(HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.InRange(int.Parse(refused.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
    }

    private static Task<HttpResponseMessage> Put(RunningGateway gateway, string body) =>
        gateway.Client.PutAsync("/api/v1/config", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

    private static async Task<JsonElement> Finished(HttpClient client, string text, string? voice = null)
    {
        object body = voice is null ? new { text } : new { text, voice_id = voice };
        var id = (await (await client.Synthesize(body)).Json()).GetProperty("task_id").GetString();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var task = await client.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{id}");
            if (task.GetProperty("status").GetString() is "completed" or "error" || DateTime.UtcNow > deadline)
            {
                Assert.Equal("completed", task.GetProperty("status").GetString());
                return task;
            }

            await Task.Delay(20);
        }
    }
}
