using MitTts.Gateway.Contracts;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Apis;

/// <summary><c>GET /voices</c>: the voice catalogue; <c>GET /voices/{voice_id}</c>: one voice.</summary>
public static class VoicesApi
{
    public static RouteGroupBuilder MapVoicesApiV1(this RouteGroupBuilder api)
    {
        api.MapGet("/voices", ListVoices)
            .WithName("ListVoices")
            .WithSummary("Every voice, or those of the languages (?language=es, ?language=es,en, ?language=en-US: by its language) and gender (?gender=female) asked for.")
            .Produces<VoicesResponse>();
        api.MapGet("/voices/{voice_id}", GetVoice)
            .WithName("GetVoice")
            .WithSummary("One voice: its language, gender, name, engine, sample rate and whether it can speak now.")
            .Produces<VoiceResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return api;
    }

    /// <summary><c>GET /voices</c> at the root too (<see cref="Hosting.GatewayApplication.MapRootAliases"/>).</summary>
    public static IEndpointRouteBuilder MapRootVoices(this IEndpointRouteBuilder app)
    {
        app.MapGet("/voices", ListVoices);
        app.MapGet("/voices/{voice_id}", GetVoice);
        return app;
    }

    private static async Task<VoicesResponse> ListVoices(VoiceCache cache, string[]? language, string[]? gender)
    {
        var languages = Wanted(language, primarySubtag: true);
        var genders = Wanted(gender, primarySubtag: false);
        var voices = await cache.All();
        var selected = new List<VoiceResponse>(voices.Count);
        foreach (var voice in voices)
        {
            if ((languages is null || languages.Contains(voice.Language)) && (genders is null || genders.Contains(voice.Gender)))
            {
                selected.Add(Response(voice));
            }
        }

        return new VoicesResponse(selected);
    }

    private static async Task<IResult> GetVoice(string voice_id, VoiceCache voices)
    {
        if (!Grains.Voices.VoiceCatalog.VoiceIdPattern().IsMatch(voice_id))
        {
            return SynthesisRequestValidator.InvalidVoiceId().ToResult();
        }

        return await voices.Find(voice_id) is { } voice
            ? TypedResults.Ok(Response(voice))
            : SynthesisRequestValidator.VoiceNotFound(StatusCodes.Status404NotFound, voice_id).ToResult();
    }

    private static VoiceResponse Response(VoiceInfo voice) =>
        new(voice.Id, voice.Language, voice.Gender, voice.Name, voice.Description, voice.Engine, voice.SampleRate, voice.IsAvailable);

    /// <summary>The values a filter asks for (repeated or comma-separated, any case; a language tag by its language, en-US as en), or
    /// null when it asks for none (absent or empty): then it filters nothing.</summary>
    private static HashSet<string>? Wanted(string[]? values, bool primarySubtag)
    {
        HashSet<string>? wanted = null;
        foreach (var value in values ?? [])
        {
            foreach (var part in (value ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var dash = primarySubtag ? part.IndexOfAny(['-', '_']) : -1;
                (wanted ??= new HashSet<string>(StringComparer.OrdinalIgnoreCase)).Add(dash > 0 ? part[..dash] : part);
            }
        }

        return wanted;
    }
}
