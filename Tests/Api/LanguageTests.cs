using System.Net;
using System.Text.Json;
using MitTts.Gateway.Apis;
using MitTts.Grains.Interfaces;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Api;

/// <summary><c>language</c> on a synthesis request: without <c>voice_id</c> it picks a voice that speaks it; with one, that voice must.</summary>
[Collection(GatewayCollection.Name)]
public sealed class LanguageTests(GatewayFixture gateway)
{
    [Theory]
    [InlineData("en", "en")]
    [InlineData("EN-us", "en")]
    [InlineData("fr_FR", "fr")]
    [InlineData("pt-BR", "pt")]
    [InlineData(" de ", "de")]
    public async Task A_language_without_a_voice_is_spoken_by_a_voice_of_that_language(string language, string expected)
    {
        var task = await Accepted(new { text = "One two three.", language });

        var voice = await Voice(task.GetProperty("voice_id").GetString()!);
        Assert.Equal(expected, voice.GetProperty("language").GetString());
        Assert.True(voice.GetProperty("is_available").GetBoolean());
    }

    [Fact]
    public async Task The_default_voice_answers_for_its_own_language()
    {
        var defaultVoice = (await (await gateway.Client.GetAsync("/api/v1/config")).Json()).GetProperty("tts").GetProperty("default_voice").GetString()!;
        var language = (await Voice(defaultVoice)).GetProperty("language").GetString()!;

        var task = await Accepted(new { text = "Uno dos tres.", language });

        Assert.Equal(defaultVoice, task.GetProperty("voice_id").GetString());
    }

    [Fact]
    public async Task A_voice_with_a_language_it_speaks_is_taken_as_asked()
    {
        var task = await Accepted(new { text = "One two three.", voice_id = "en-male-1", language = "en-GB" });

        Assert.Equal("en-male-1", task.GetProperty("voice_id").GetString());
    }

    [Theory]
    [InlineData("""{"text": "hola", "language": "e"}""", "invalid_language")]
    [InlineData("""{"text": "hola", "language": "english!"}""", "invalid_language")]
    [InlineData("""{"text": "hola", "language": ""}""", "invalid_language")]
    [InlineData("""{"text": "hola", "language": "zz"}""", "language_not_supported")]
    [InlineData("""{"text": "hola", "language": "zz-ES"}""", "language_not_supported")]
    [InlineData("""{"text": "hola", "voice_id": "es-female-1", "language": "en"}""", "voice_language_mismatch")]
    public async Task A_language_no_voice_answers_is_refused_on_its_field(string body, string code)
    {
        var response = await gateway.Client.PostRaw(body);

        await response.AssertProblem(HttpStatusCode.BadRequest, code, "language");
    }

    [Fact]
    public async Task A_socket_request_with_a_language_is_spoken_by_that_language_s_voice()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "synthesize", text = "Guten Tag.", language = "de", format = "pcm" });
        var queued = (await client.ReceiveUntil(m => m.Str("status") == "queued" || m.Type == "error"))[^1];
        var taskId = queued.Str("task_id")!;
        var end = (await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId)))[^1];
        Assert.Equal("completed", end.Str("status"));

        var task = await (await gateway.Client.GetAsync($"/api/v1/tasks/{taskId}")).Json();
        Assert.StartsWith("de-", task.GetProperty("voice_id").GetString(), StringComparison.Ordinal);

        await client.Send(new { type = "text", context_id = "c", text = "Hola.", voice_id = "es-male-1", language = "fr" });
        var error = (await client.ReceiveUntil(m => m.Type == "error"))[^1];
        Assert.Equal("voice_language_mismatch", error.Str("code"));
        Assert.Equal("language", error.Str("field"));
    }

    private async Task<JsonElement> Accepted(object body)
    {
        var accepted = await (await gateway.Client.Synthesize(body)).Json();
        return await (await gateway.Client.GetAsync($"/api/v1/tasks/{accepted.GetProperty("task_id").GetString()}")).Json();
    }

    private async Task<JsonElement> Voice(string voiceId)
    {
        var voices = (await (await gateway.Client.GetAsync("/api/v1/voices")).Json()).GetProperty("voices");
        foreach (var voice in voices.EnumerateArray())
        {
            if (voice.GetProperty("id").GetString() == voiceId)
            {
                return voice;
            }
        }

        throw new InvalidOperationException($"GET /api/v1/voices has no {voiceId}");
    }
}

/// <summary>The choice itself, on a catalogue made up for it.</summary>
public sealed class VoiceLanguagesTests
{
    private static VoiceInfo Voice(string id, string language, bool available = true) =>
        new(id, language, "female", id, id, "espeak-ng", language, 22050, available);

    [Fact]
    public void The_same_tag_goes_before_a_region_and_a_region_before_the_language_it_belongs_to()
    {
        IReadOnlyList<VoiceInfo> voices = [Voice("en-female-1", "en"), Voice("en-female-2", "en_US"), Voice("en-female-3", "en-GB")];

        Assert.Equal("en-female-1", VoiceLanguages.Choose(voices, "en", null)!.Id);
        Assert.Equal("en-female-2", VoiceLanguages.Choose(voices, "en-us", null)!.Id);
        Assert.Equal("en-female-3", VoiceLanguages.Choose(voices, "en_GB", null)!.Id);
        Assert.Equal("en-female-1", VoiceLanguages.Choose(voices, "en-AU", null)!.Id);
        Assert.Equal("en-female-2", VoiceLanguages.Choose([voices[1], voices[2]], "en", null)!.Id);
        Assert.Null(VoiceLanguages.Choose(voices, "es", null));
        Assert.Null(VoiceLanguages.Choose(voices, "eng", null));
    }

    [Fact]
    public void Among_equals_the_default_voice_wins_and_unavailable_voices_never_do()
    {
        IReadOnlyList<VoiceInfo> voices = [Voice("es-female-1", "es", available: false), Voice("es-female-2", "es"), Voice("es-male-1", "es")];

        Assert.Equal("es-male-1", VoiceLanguages.Choose(voices, "es", "es-male-1")!.Id);
        Assert.Equal("es-female-2", VoiceLanguages.Choose(voices, "es", "es-female-1")!.Id);
        Assert.Null(VoiceLanguages.Choose([voices[0]], "es", null));
    }
}
