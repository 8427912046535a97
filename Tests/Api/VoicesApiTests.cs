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
}
