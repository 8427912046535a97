using System.Text.Json;
using MitTts.Gateway.Contracts;
using MitTts.Grains.Configuration;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Apis;

/// <summary><c>GET /config</c> and <c>PUT /config</c>: the live settings, changed for the whole cluster without a restart.</summary>
/// <remarks>A change goes to the <see cref="ILiveConfigGrain"/> (persisted in cluster mode), takes effect on this gateway before the
/// answer, and on every other silo and gateway as soon as their <see cref="LiveConfigWatcher"/> hears of it.</remarks>
public static class ConfigApi
{
    public static RouteGroupBuilder MapConfigApiV1(this RouteGroupBuilder api)
    {
        api.MapGet("/config", Get)
            .WithName("GetConfig")
            .WithSummary("The live settings in effect: rate limits, default voice, cache size, max text length, queue limits, log level.")
            .Produces<ConfigResponse>();

        api.MapPut("/config", Put)
            .WithName("PutConfig")
            .WithSummary("Change live settings cluster-wide (only the fields given); answers the settings now in effect.")
            .Produces<ConfigResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return api;
    }

    /// <summary><c>GET|PUT /config</c> at the root too (<see cref="Hosting.GatewayApplication.MapRootAliases"/>), in the admin group.</summary>
    public static IEndpointRouteBuilder MapRootConfig(this IEndpointRouteBuilder app)
    {
        app.MapGet("/config", Get);
        app.MapPut("/config", Put);
        return app;
    }

    private static ConfigResponse Get(LiveSettings settings) => Describe(settings.Current);

    private static async Task<IResult> Put(HttpRequest http, IGrainFactory grains, LiveSettings settings, CancellationToken cancellationToken)
    {
        if (ApiError.IsNotJson(http))
        {
            return ApiError.UnsupportedMediaType.ToResult();
        }

        JsonElement body;
        try
        {
            using var document = await JsonDocument.ParseAsync(http.Body, cancellationToken: cancellationToken);
            body = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return ApiError.BadRequest("invalid_json", "The body is not valid JSON.").ToResult();
        }

        var (patch, error) = ConfigPatchReader.Read(body);
        if (error is not null)
        {
            return error.ToResult();
        }

        if (patch!.DefaultVoice is { } voiceId && await grains.GetGrain<IVoiceGrain>(voiceId).GetInfo() is not { IsAvailable: true })
        {
            return ApiError.BadRequest("voice_not_found", $"No available voice '{voiceId}'; GET /api/v1/voices lists them.", "tts.default_voice").ToResult();
        }

        if (patch == LiveConfigOverrides.None)
        {
            return TypedResults.Ok(Describe(settings.Current));
        }

        var overrides = await grains.GetGrain<ILiveConfigGrain>(0).Apply(patch);
        settings.Apply(overrides);
        return TypedResults.Ok(Describe(settings.Current));
    }

    private static ConfigResponse Describe(LiveConfig live) => new(
        live.Version,
        new RateLimitsConfig(live.RateLimits.SynthesizePerMinute, live.RateLimits.WebSocketPerMinute, live.RateLimits.HealthPerMinute),
        new TtsConfig(live.DefaultVoice, live.CacheSize, live.MaxTextLength),
        new SchedulingConfig(live.MaxQueuePerLevel),
        new LoggingConfig(live.LogLevel));
}
