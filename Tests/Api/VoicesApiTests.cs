using System.Net;

namespace MitTts.Tests.Api;

[Collection(GatewayCollection.Name)]
public sealed class VoicesApiTests(GatewayFixture gateway)
{
    [Fact]
    public async Task Voices_are_listed_as_in_the_seed()
    {
        var body = await (await gateway.Client.GetAsync("/api/v1/voices")).Json();

        var maria = body.GetProperty("voices").EnumerateArray().Single(v => v.GetProperty("id").GetString() == "es-female-1");
        Assert.Equal("es", maria.GetProperty("language").GetString());
        Assert.Equal("female", maria.GetProperty("gender").GetString());
        Assert.Equal("María", maria.GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(maria.GetProperty("description").GetString()));
        Assert.True(maria.GetProperty("is_available").GetBoolean());
    }

    [Fact]
    public async Task Voices_can_be_filtered_by_language()
    {
        var body = await (await gateway.Client.GetAsync("/api/v1/voices?language=fr")).Json();

        var languages = body.GetProperty("voices").EnumerateArray().Select(v => v.GetProperty("language").GetString()).ToArray();
        Assert.NotEmpty(languages);
        Assert.All(languages, l => Assert.Equal("fr", l));
    }

    [Fact]
    public async Task Filters_take_several_languages_a_language_tag_and_a_gender_and_an_empty_one_filters_nothing()
    {
        async Task<(string Language, string Gender)[]> Voices(string query) =>
            [.. (await (await gateway.Client.GetAsync("/api/v1/voices" + query)).Json()).GetProperty("voices").EnumerateArray()
                .Select(v => (v.GetProperty("language").GetString()!, v.GetProperty("gender").GetString()!))];

        var all = await Voices(string.Empty);
        Assert.Equal(all, await Voices("?language="));
        Assert.Equal(all.Where(v => v.Language is "es" or "en"), await Voices("?language=es&language=en"));
        Assert.Equal(all.Where(v => v.Language is "es" or "en"), await Voices("?language=es,EN"));
        Assert.Equal(all.Where(v => v.Language == "en"), await Voices("?language=en-US"));
        Assert.Equal(all.Where(v => v.Language == "es" && v.Gender == "female"), await Voices("?language=es&gender=female"));
        Assert.Contains(all, v => v.Language == "es" && v.Gender == "male");
    }

    [Fact]
    public async Task One_voice_is_read_by_its_id_as_the_list_gives_it()
    {
        var listed = (await (await gateway.Client.GetAsync("/api/v1/voices")).Json()).GetProperty("voices").EnumerateArray()
            .Single(v => v.GetProperty("id").GetString() == "en-male-1");

        var voice = await (await gateway.Client.GetAsync("/api/v1/voices/en-male-1")).Json();

        Assert.Equal(listed.GetRawText(), voice.GetRawText());
        Assert.Equal(voice.GetRawText(), (await (await gateway.Client.GetAsync("/voices/en-male-1")).Json()).GetRawText());
    }

    [Theory]
    [InlineData("/api/v1/voices/xx-robot-9", HttpStatusCode.NotFound, "voice_not_found")]
    [InlineData("/api/v1/voices/ES_FEMALE", HttpStatusCode.BadRequest, "invalid_voice_id")]
    [InlineData("/api/v1/voices/..%2Fconfig", HttpStatusCode.BadRequest, "invalid_voice_id")]
    public async Task An_unknown_or_malformed_voice_id_is_told_apart(string path, HttpStatusCode status, string code)
    {
        await (await gateway.Client.GetAsync(path)).AssertProblem(status, code, "voice_id");
    }
}
