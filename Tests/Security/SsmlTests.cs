using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MitTts.Tests.Api;
using MitTts.Tests.WebSockets;

namespace MitTts.Tests.Security;

/// <summary>SSML only when asked, read by espeak-ng, and refused when it could reach outside (DTDs, entities), nest without end, ask for
/// endless silence, or use elements espeak-ng does not handle.</summary>
[Collection(GatewayCollection.Name)]
public sealed class SsmlTests(GatewayFixture gateway)
{
    private const int BytesPerSecond = 22050 * 2;

    public static TheoryData<string, string> Refused => new()
    {
        { "external entity", """<?xml version="1.0"?><!DOCTYPE speak [<!ENTITY x SYSTEM "file:///etc/passwd">]><speak>&x;</speak>""" },
        { "entity expansion", """<!DOCTYPE speak [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><speak>&b;</speak>""" },
        { "audio fetch", """<speak>Hola <audio src="http://169.254.169.254/latest/meta-data"/></speak>""" },
        { "unknown element", """<speak><script>alert(1)</script>Hola</speak>""" },
        { "not speak at the root", """<p>Hola</p>""" },
        { "too deep", "<speak>" + string.Concat(Enumerable.Repeat("<p>", 9)) + "Hola" + string.Concat(Enumerable.Repeat("</p>", 9)) + "</speak>" },
        { "one long pause", """<speak>Hola <break time="60s"/> mundo</speak>""" },
        { "many pauses", "<speak>" + string.Concat(Enumerable.Repeat("""Hola <break time="5s"/>""", 7)) + "</speak>" },
        { "a pause that is not a time", """<speak>Hola <break time="forever"/></speak>""" },
        { "malformed", """<speak>Hola <prosody rate="slow">mundo</speak>""" },
        { "processing instruction", """<speak><?php echo 1; ?>Hola</speak>""" },
        { "nothing to say", """<speak><break time="1s"/></speak>""" },
        { "text in CDATA, which espeak-ng would skip", """<speak><![CDATA[Hola mundo]]></speak>""" },
        { "a rate that is no rate", """<speak><prosody rate="zoom">Hola</prosody></speak>""" },
        { "a volume that is no volume", """<speak><prosody volume="11">Hola</prosody> <prosody volume="very">mundo</prosody></speak>""" },
        { "a pitch that is no pitch", """<speak><prosody pitch="+">Hola</prosody></speak>""" },
        { "an emphasis level SSML does not have, which espeak-ng reads as silence", """<speak><emphasis level="ultra">Hola</emphasis></speak>""" },
    };

    [Fact]
    public async Task Ssml_is_read_by_the_engine_its_tags_are_not_spoken_and_a_break_is_heard()
    {
        var plain = await Pcm(new { text = "Hola mundo.", voice_id = "es-male-1", format = "pcm" });
        var ssml = await Pcm(new { text = "<speak>Hola mundo.</speak>", voice_id = "es-male-1", format = "pcm", ssml = true });
        var paused = await Pcm(new { text = """<speak>Hola <break time="1500ms"/> mundo.</speak>""", voice_id = "es-male-1", format = "pcm", ssml = true });

        // The markup is not read out: the same words, about the same length (espeak-ng's SSML reader pauses a little differently).
        Assert.InRange(ssml.Length, plain.Length * 0.8, plain.Length * 1.25);
        Assert.True(paused.Length - ssml.Length >= BytesPerSecond * 1.3, $"a 1.5 s break added only {(paused.Length - ssml.Length) / (double)BytesPerSecond:0.00} s");

        // Seconds with a fraction are the same pause (espeak-ng reads whole numbers only: "1.5s" was no pause at all).
        var inSeconds = await Pcm(new { text = """<speak>Hola <break time="1.5s"/> mundo.</speak>""", voice_id = "es-male-1", format = "pcm", ssml = true });
        Assert.InRange(inSeconds.Length, paused.Length - (BytesPerSecond / 10), paused.Length + (BytesPerSecond / 10));
        Assert.True(LongestSilence(inSeconds) >= 1.4, $"the longest silence is {LongestSilence(inSeconds):0.00} s");
    }

    [Fact]
    public async Task Markup_without_ssml_true_is_spoken_as_text_and_never_parsed()
    {
        const string markup = """<speak>Hola <break time="2s"/> mundo.</speak>""";
        var plain = await Pcm(new { text = "Hola mundo.", voice_id = "es-male-1", format = "pcm" });
        var asText = await Pcm(new { text = markup, voice_id = "es-male-1", format = "pcm" });

        // Read out, the markup is longer than the words alone; parsed, it would hold a 2 s silence.
        Assert.True(asText.Length > plain.Length * 1.5, $"{asText.Length} bytes against {plain.Length}: the markup was not read out");
        Assert.True(LongestSilence(asText) < 1.0, $"a {LongestSilence(asText):0.00} s silence: the break was obeyed");

        // What SSML parsing would refuse is, as text, just text.
        Assert.NotEmpty(await Pcm(new { text = """<speak>Hola <audio src="http://169.254.169.254/"/></speak>""", voice_id = "es-male-1", format = "pcm" }));
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Hostile_or_unsupported_ssml_is_refused(string what, string ssml)
    {
        var response = await gateway.Client.PostAsJsonAsync("/api/v1/synthesize", new { text = ssml, ssml = true });
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{what}: {response.StatusCode}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("invalid_ssml", body.GetProperty("code").GetString());
        Assert.Equal("text", body.GetProperty("field").GetString());
        var message = body.GetProperty("message").GetString()!;
        Assert.DoesNotContain("passwd", message.Replace("file:///etc/passwd", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        // Our own words: the XML parser's DTD message told how to switch DTD processing on (XmlReaderSettings).
        Assert.DoesNotContain("XmlReaderSettings", message, StringComparison.Ordinal);
        Assert.DoesNotContain("DtdProcessing", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rate='150%' pitch='+2st' volume='loud' range='x-high'")]
    [InlineData("rate='x-slow' pitch='-10%' volume='+6dB'")]
    [InlineData("rate='0.8' pitch='200Hz' volume='80'")]
    public async Task Prosody_in_its_words_or_numbers_is_spoken(string attributes)
    {
        var audio = await Pcm(new { text = $"<speak><prosody {attributes}>Hola mundo.</prosody></speak>", voice_id = "es-male-1", format = "pcm", ssml = true });

        Assert.True(audio.Length > BytesPerSecond / 4, $"{audio.Length} bytes");
    }

    [Fact]
    public async Task Ssml_streams_over_the_websocket_too()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "synthesize", text = """<speak><prosody rate="slow">Hola</prosody> mundo.</speak>""", ssml = true, format = "pcm" });
        var messages = await client.ReceiveUntil(m => m.Type == "status" && m.Str("status") is "completed" or "error");
        Assert.Equal("completed", messages[^1].Str("status"));
        Assert.Contains(messages, m => m.IsAudio);

        await client.Send(new { type = "synthesize", text = "<speak><audio src=\"x\"/></speak>", ssml = true, request_id = "bad" });
        var error = await client.ReceiveUntil(m => m.Type == "error");
        Assert.Equal("invalid_ssml", error[^1].Str("code"));
    }

    /// <summary>The longest run of near-silent samples, in seconds (16-bit mono at 22 050 Hz).</summary>
    private static double LongestSilence(byte[] pcm)
    {
        int longest = 0, run = 0;
        for (var i = 0; i + 1 < pcm.Length; i += 2)
        {
            run = Math.Abs((int)BitConverter.ToInt16(pcm, i)) < 200 ? run + 1 : 0;
            longest = Math.Max(longest, run);
        }

        return longest / 22050.0;
    }

    private async Task<byte[]> Pcm(object body)
    {
        var response = await gateway.Client.PostAsJsonAsync("/api/v1/synthesize?wait=true", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }
}
