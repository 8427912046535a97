using MitTts.Gateway.Contracts;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Apis;

/// <summary><c>GET /voices</c>: the voice catalogue.</summary>
public static class VoicesApi
{
    public static RouteGroupBuilder MapVoicesApiV1(this RouteGroupBuilder api)
    {
        api.MapGet("/voices", ListVoices)
            .WithName("ListVoices")
            .WithSummary("Every voice, optionally only those of one language (?language=es).")
            .Produces<VoicesResponse>();
        return api;
    }

    private static async Task<VoicesResponse> ListVoices(IGrainFactory grains, string? language)
    {
        var voices = await grains.GetGrain<IVoiceCatalogGrain>(0).ListVoices();
        var selected = new List<VoiceResponse>(voices.Count);
        foreach (var voice in voices)
        {
            if (language is null || string.Equals(voice.Language, language, StringComparison.OrdinalIgnoreCase))
            {
                selected.Add(new VoiceResponse(voice.Id, voice.Language, voice.Gender, voice.Name, voice.Description, voice.Engine, voice.SampleRate, voice.IsAvailable));
            }
        }

        return new VoicesResponse(selected);
    }
}
