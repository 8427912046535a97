using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using MitTts.Gateway.Wyoming;
using MitTts.Tests.Api;

namespace MitTts.Tests.Wyoming;

/// <summary>The Wyoming protocol as Home Assistant speaks it, by a client written here from the published event format (a JSON header
/// line with <c>type</c>, <c>data_length</c>, <c>payload_length</c>; then the data and the payload): <c>describe</c> → <c>info</c>,
/// <c>synthesize</c> → <c>audio-start</c>, chunks as they are made, <c>audio-stop</c>.</summary>
public sealed class WyomingTests : IAsyncLifetime
{
    private RunningGateway? _gateway;

    private int Port => _gateway!.Services.GetRequiredService<WyomingServer>().BoundPort;

    public async Task InitializeAsync() => _gateway = await RunningGateway.Start("--wyoming:port=-1");

    public async Task DisposeAsync() => await _gateway!.DisposeAsync();

    [Fact]
    public async Task Describe_answers_info_with_the_voices()
    {
        await using var client = await WyomingClient.Open(Port);
        await client.Send("describe", null);
        var (type, data, _) = await client.Receive();
        Assert.Equal("info", type);
        var program = data["tts"]!.AsArray().Single()!;
        Assert.Equal("mittts", program["name"]!.GetValue<string>());
        var voices = program["voices"]!.AsArray();
        Assert.Contains(voices, v => v!["name"]!.GetValue<string>() == "es-female-1" && v["languages"]!.AsArray().Single()!.GetValue<string>() == "es");
        Assert.All(voices, v => Assert.True(v!["installed"]!.GetValue<bool>()));
    }

    [Fact]
    public async Task Synthesize_streams_chunks_that_join_to_the_spoken_length()
    {
        const string text = "Hola desde Home Assistant. Esta respuesta tiene dos frases.";
        await using var client = await WyomingClient.Open(Port);
        await client.Send("synthesize", new JsonObject { ["text"] = text, ["voice"] = new JsonObject { ["name"] = "es-male-1" } });

        var (type, start, _) = await client.Receive();
        Assert.Equal("audio-start", type);
        Assert.Equal(22050, start["rate"]!.GetValue<int>());
        Assert.Equal(2, start["width"]!.GetValue<int>());
        Assert.Equal(1, start["channels"]!.GetValue<int>());

        var audio = new MemoryStream();
        var chunks = 0;
        while (true)
        {
            var (kind, data, payload) = await client.Receive();
            if (kind == "audio-stop")
            {
                break;
            }

            Assert.Equal("audio-chunk", kind);
            Assert.Equal(22050, data["rate"]!.GetValue<int>());
            audio.Write(payload);
            chunks++;
        }

        // Streamed (a chunk per piece the engine made), and as long as the same text through REST.
        Assert.True(chunks > 1, $"{chunks} chunk(s)");
        var reference = await _gateway!.Client.PostAsJsonAsync("/api/v1/synthesize?wait=true", new { text, voice_id = "es-male-1", format = "pcm" });
        var expected = (await reference.Content.ReadAsByteArrayAsync()).Length;
        Assert.Equal(0, audio.Length % 2);
        Assert.InRange(audio.Length, expected * 0.9, expected * 1.1);
    }

    [Fact]
    public async Task A_voice_by_language_an_unknown_voice_and_a_bad_event_are_answered_and_the_server_stays()
    {
        await using (var client = await WyomingClient.Open(Port))
        {
            await client.Send("synthesize", new JsonObject { ["text"] = "Hello there.", ["voice"] = new JsonObject { ["language"] = "en_US" } });
            Assert.Equal("audio-start", (await client.Receive()).Type);
            while ((await client.Receive()).Type != "audio-stop")
            {
            }

            await client.Send("synthesize", new JsonObject { ["text"] = "Hola", ["voice"] = new JsonObject { ["name"] = "xx-nobody-9" } });
            var (type, data, _) = await client.Receive();
            Assert.Equal("error", type);
            Assert.Equal("voice_not_found", data["code"]!.GetValue<string>());

            // A language no voice speaks is not spoken in the default voice's; a voice given as a plain string is its name.
            await client.Send("synthesize", new JsonObject { ["text"] = "Konnichiwa", ["voice"] = new JsonObject { ["language"] = "ja" } });
            var unspoken = await client.Receive();
            Assert.Equal(("error", "voice_not_found"), (unspoken.Type, unspoken.Data["code"]!.GetValue<string>()));
            await client.Send("synthesize", new JsonObject { ["text"] = "Hi.", ["voice"] = "xx-nobody-9" });
            var named = await client.Receive();
            Assert.Equal(("error", "voice_not_found"), (named.Type, named.Data["code"]!.GetValue<string>()));

            // Wyoming's keep-alive.
            await client.Send("ping", new JsonObject { ["text"] = "hola" });
            var pong = await client.Receive();
            Assert.Equal(("pong", "hola"), (pong.Type, pong.Data["text"]!.GetValue<string>()));

            // An event the server does not serve is ignored; the connection goes on.
            await client.Send("transcribe", new JsonObject { ["language"] = "es" });
            await client.Send("describe", null);
            Assert.Equal("info", (await client.Receive()).Type);
        }

        await using (var garbage = await WyomingClient.Open(Port))
        {
            await garbage.SendRaw("this is not json\n"u8.ToArray());
            var (type, data, _) = await garbage.Receive();
            Assert.Equal("error", type);
            Assert.Equal("invalid_event", data["code"]!.GetValue<string>());
        }

        await using var after = await WyomingClient.Open(Port);
        await after.Send("describe", null);
        Assert.Equal("info", (await after.Receive()).Type);
    }
}
