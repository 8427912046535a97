using System.Net.Http.Json;
using MitTts.Tests.Api;
using MitTts.Tests.Security;

namespace MitTts.Tests.Playground;

/// <summary>The web playground in headless chromium: it loads, speaks with playback from the first chunk (audio reaches the Web Audio
/// graph while the task runs), shows time to first audio, the real-time factor and the words; interrupt stops playback at once.</summary>
[Collection(GatewayCollection.Name)]
public sealed class PlaygroundTests(GatewayFixture gateway) : IAsyncLifetime
{
    private const string LongText = "Esta es una respuesta larga del agente de voz. Tiene varias frases, para que el audio llegue por partes. "
        + "Mientras suena la primera, el servidor ya prepara la siguiente. Y así sigue, frase tras frase, hasta el final.";

    private HeadlessChromium? _browser;

    public async Task InitializeAsync()
    {
        _browser = await HeadlessChromium.Start();
        await _browser.Navigate(gateway.BaseAddress);
        await _browser.WaitFor("window.mittts && window.mittts.ready && document.getElementById('voice').options.length > 0");
    }

    public async Task DisposeAsync() => await _browser!.DisposeAsync();

    [Fact]
    public async Task Speak_plays_from_the_first_chunk_and_shows_the_figures_and_words()
    {
        var browser = _browser!;
        Assert.True((await browser.Evaluate("[...document.querySelectorAll('input,select,textarea')].every(e => e.labels.length > 0)"))!.GetValue<bool>(),
            "every control has a label");

        // A text of its own, so that the audio cache cannot hand over the whole answer at once.
        var text = $"{LongText} Número {Random.Shared.Next(1_000_000)}.";
        await browser.Evaluate($"document.getElementById('text').value = {System.Text.Json.JsonSerializer.Serialize(text)}; "
            + "document.getElementById('voice').value = 'es-male-1'; document.getElementById('speak').click(); true");
        await browser.WaitFor("window.mittts.stats.completed");

        // Playback starts with the first chunk: it was in the audio graph before the answer was complete.
        var firstChunkMs = (await browser.Evaluate("window.mittts.stats.ttfaMs"))!.GetValue<double>();
        var completedMs = (await browser.Evaluate("window.mittts.stats.completedMs"))!.GetValue<double>();
        Assert.True(firstChunkMs < completedMs, $"first audio at {firstChunkMs:0.0} ms, answer complete at {completedMs:0.0} ms");

        var chunks = (await browser.Evaluate("window.mittts.stats.chunks"))!.GetValue<int>();
        var samples = (await browser.Evaluate("window.mittts.stats.samples"))!.GetValue<int>();
        Assert.True(chunks > 1, $"{chunks} chunk(s)");
        var reference = await gateway.Client.PostAsJsonAsync("/api/v1/synthesize?wait=true", new { text, voice_id = "es-male-1", format = "pcm" });
        var expected = (await reference.Content.ReadAsByteArrayAsync()).Length / 2;
        Assert.InRange(samples, expected * 0.9, expected * 1.1);

        Assert.Matches(@"^\d+\.\d ms$", (await browser.Evaluate("document.getElementById('ttfa').textContent"))!.GetValue<string>());
        Assert.Matches(@"^\d+\.\d{3} \(\d+\.\d\d s of audio\)$", (await browser.Evaluate("document.getElementById('rtf').textContent"))!.GetValue<string>());
        Assert.True((await browser.Evaluate("document.querySelectorAll('#words span').length"))!.GetValue<int>() > 10, "the words arrived");
        await browser.WaitFor("document.getElementById('queue').textContent !== '–'");

        // The status panel counts this page's open WebSocket among the server's connections.
        var connections = (await browser.Evaluate("refreshStatus().then(() => document.getElementById('connections').textContent)"))!.GetValue<string>();
        Assert.True(int.TryParse(connections, out var open) && open >= 1, $"connections shows '{connections}'");

        var artifacts = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts")).FullName;
        var png = await browser.Screenshot();
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        await File.WriteAllBytesAsync(Path.Combine(artifacts, "playground.png"), png);
    }

    [Fact]
    public async Task With_auth_on_a_token_entered_in_the_page_loads_the_voices_and_Ctrl_Enter_speaks()
    {
        await using var secure = await RunningGateway.Start(SecureGatewayFixture.Settings());
        using var anonymous = new HttpClient { BaseAddress = secure.BaseAddress };
        var token = (await SecureGatewayFixture.Login(anonymous, "alice-key")).GetProperty("access_token").GetString()!;
        await using var browser = await HeadlessChromium.Start();
        await browser.Navigate(secure.BaseAddress);
        await browser.WaitFor("window.mittts && document.getElementById('error')?.textContent.includes('unauthorized')");
        Assert.False((await browser.Evaluate("window.mittts.ready"))!.GetValue<bool>());

        await browser.Evaluate($"const t = document.getElementById('token'); t.value = {System.Text.Json.JsonSerializer.Serialize(token)}; "
            + "t.dispatchEvent(new Event('change')); true");
        await browser.WaitFor("window.mittts.ready && document.getElementById('voice').options.length > 0");
        await browser.Evaluate("document.getElementById('text').value = 'Hola, con la clave puesta.'; "
            + "document.getElementById('text').dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', ctrlKey: true, bubbles: true })); true");
        await browser.WaitFor("window.mittts.stats.completed");

        Assert.True((await browser.Evaluate("window.mittts.stats.samples"))!.GetValue<int>() > 0, "no audio reached the audio graph");
        Assert.Equal(string.Empty, (await browser.Evaluate("document.getElementById('error').textContent"))!.GetValue<string>());
    }

    [Fact]
    public async Task Download_gives_a_file_in_the_chosen_format()
    {
        var browser = _browser!;
        await browser.Evaluate("document.getElementById('text').value = 'Un archivo para descargar.'; document.getElementById('format').value = 'aac'; "
            + "document.getElementById('download').click(); true");
        await browser.WaitFor("!document.getElementById('download-link').hidden");

        var name = (await browser.Evaluate("document.getElementById('download-link').download"))!.GetValue<string>();
        var head = (await browser.Evaluate("fetch(document.getElementById('download-link').href).then(r => r.arrayBuffer()).then(b => [...new Uint8Array(b.slice(0, 2))].join(','))"))!.GetValue<string>();

        Assert.Equal("mittts.aac", name);
        Assert.Equal("255,241", head); // an ADTS sync word: MPEG-4 AAC without CRC
    }

    [Fact]
    public async Task A_refused_request_shows_its_code_and_leaves_the_queued_state()
    {
        var browser = _browser!;
        var text = new string('a', GatewayFixture.MaxTextLength + 10);
        await browser.Evaluate($"document.getElementById('text').value = {System.Text.Json.JsonSerializer.Serialize(text)}; "
            + "document.getElementById('speak').click(); true");

        await browser.WaitFor("document.getElementById('error').textContent.startsWith('text_too_long')");
        await browser.WaitFor("document.getElementById('state').textContent === 'error'");
        Assert.True((await browser.Evaluate("document.getElementById('speak').disabled === false"))!.GetValue<bool>(), "ready to speak again");
    }

    [Fact]
    public async Task Interrupt_stops_playback_at_once_and_the_server_acknowledges()
    {
        var browser = _browser!;
        // About four minutes of speech (near the 5,000-character limit): espeak-ng makes it in a few hundred milliseconds, so the
        // interrupt reaches the server while the task still runs (a shorter text could be finished before the key is pressed).
        var text = string.Join(' ', Enumerable.Repeat(LongText, 20));
        await browser.Evaluate($"document.getElementById('text').value = {System.Text.Json.JsonSerializer.Serialize(text)}; "
            + "document.getElementById('speak').click(); true");
        await browser.WaitFor("window.mittts.stats.chunks > 0 && window.mittts.playing() > 0");

        // The word being spoken is highlighted as the audio plays.
        await browser.WaitFor("document.querySelector('#words span.current') !== null");

        await browser.Evaluate("document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' })); true");
        Assert.Equal(0, (await browser.Evaluate("window.mittts.playing()"))!.GetValue<int>());
        await browser.WaitFor("document.getElementById('state').textContent === 'interrupted'");
        Assert.False((await browser.Evaluate("window.mittts.stats.completed"))!.GetValue<bool>());
        Assert.Equal(0, (await browser.Evaluate("window.mittts.playing()"))!.GetValue<int>());
        Assert.True((await browser.Evaluate("document.getElementById('speak').disabled === false"))!.GetValue<bool>(), "ready to speak again");
    }

    [Fact]
    public async Task Escape_stops_an_answer_the_server_has_finished_sending_while_it_still_plays()
    {
        var browser = _browser!;
        // About a minute of speech, made in well under a second: the server says completed long before the audio has played.
        var text = string.Join(' ', Enumerable.Repeat(LongText, 5));
        await browser.Evaluate($"document.getElementById('text').value = {System.Text.Json.JsonSerializer.Serialize(text)}; "
            + "document.getElementById('speak').click(); true");
        await browser.WaitFor("window.mittts.stats.completed");

        Assert.True((await browser.Evaluate("window.mittts.playing()"))!.GetValue<int>() > 0, "the answer still plays");
        Assert.Equal("playing", (await browser.Evaluate("document.getElementById('state').textContent"))!.GetValue<string>());
        Assert.True((await browser.Evaluate("document.getElementById('interrupt').disabled === false"))!.GetValue<bool>(), "Interrupt is offered");

        await browser.Evaluate("document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' })); true");
        Assert.Equal(0, (await browser.Evaluate("window.mittts.playing()"))!.GetValue<int>());
        Assert.Equal("interrupted", (await browser.Evaluate("document.getElementById('state').textContent"))!.GetValue<string>());
        Assert.True((await browser.Evaluate("document.getElementById('speak').disabled === false"))!.GetValue<bool>(), "ready to speak again");
    }

    [Fact]
    public async Task Ctrl_Enter_during_an_answer_stops_it_and_plays_only_the_new_one()
    {
        var browser = _browser!;
        var text = string.Join(' ', Enumerable.Repeat(LongText, 20));
        await browser.Evaluate($"document.getElementById('text').value = {System.Text.Json.JsonSerializer.Serialize(text)}; "
            + "document.getElementById('speak').click(); true");
        await browser.WaitFor("window.mittts.stats.chunks > 0 && window.mittts.playing() > 0");

        await browser.Evaluate("document.getElementById('text').value = 'Hola.'; "
            + "document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', ctrlKey: true })); true");
        await browser.WaitFor("window.mittts.stats.completed");

        // "Hola." is under a second of speech: none of the long answer's remaining four minutes may be taken for it.
        var seconds = (await browser.Evaluate("window.mittts.stats.samples / state.rate"))!.GetValue<double>();
        Assert.InRange(seconds, 0.1, 1.5);
        Assert.Equal(1, (await browser.Evaluate("document.querySelectorAll('#words span').length"))!.GetValue<int>());
        Assert.Equal(string.Empty, (await browser.Evaluate("document.getElementById('error').textContent"))!.GetValue<string>());
    }
}
