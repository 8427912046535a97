using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis.Neural;
using MitTts.Grains.Voices;
using MitTts.Tests.Speech.Onnx;

namespace MitTts.Tests.Api;

/// <summary>A gateway keeps what voice grains told it until the voice catalogue changes, and hears of a change at once: a voice whose
/// model fails on its silo is refused by the next requests, not after a cache lifetime.</summary>
public sealed class VoiceCacheTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(20);

    private readonly NeuralModelFolder _models = new();
    private RunningGateway? _gateway;

    private RunningGateway Gateway => _gateway!;

    private IVoiceCatalogGrain Catalogue => Gateway.Services.GetRequiredService<IGrainFactory>().GetGrain<IVoiceCatalogGrain>(0);

    public async Task InitializeAsync()
    {
        _models.AddEspeakCatalogue();
        _models.AddPiper("en_US-test-x_low", NeuralTestModels.Piper(), NeuralTestModels.PiperConfig());
        _gateway = await RunningGateway.Start($"--tts:model_path={_models.Path}", "--tts:cache_size=0", "--tts:onnx_threads=1");
    }

    [Fact]
    public async Task A_waiting_gateway_hears_of_a_change_at_once_and_a_new_voice_grain_counts_as_one()
    {
        var version = await Catalogue.WaitForChange(-1, s_patience);

        var waiting = Catalogue.WaitForChange(version, s_patience);
        await Catalogue.Changed();
        var changed = await waiting.WaitAsync(s_patience);
        Assert.NotEqual(version, changed);

        // A voice grain activating may answer differently from an earlier activation (on another silo): that is a change too.
        waiting = Catalogue.WaitForChange(changed, s_patience);
        Assert.Null(await Gateway.Services.GetRequiredService<IGrainFactory>().GetGrain<IVoiceGrain>("never-asked-" + Guid.NewGuid().ToString("N")).GetInfo());
        Assert.NotEqual(changed, await waiting.WaitAsync(s_patience));

        // Asked with an old version, it answers at once with the current one.
        Assert.NotEqual(version, await Catalogue.WaitForChange(version, s_patience).WaitAsync(s_patience));
    }

    [Fact]
    public async Task A_voice_whose_model_fails_after_the_gateway_kept_it_is_refused_by_the_next_requests()
    {
        var voices = await (await Gateway.Client.GetAsync("/api/v1/voices")).Json();
        var voiceId = voices.GetProperty("voices").EnumerateArray().Single(v => v.GetProperty("engine").GetString() == "piper").GetProperty("id").GetString()!;
        var spoken = await Gateway.Client.Synthesize(new { text = "Hello.", voice_id = voiceId, format = "wav" }, wait: true);
        Assert.Equal(HttpStatusCode.OK, spoken.StatusCode);

        // The model fails on the silo (as a slot that cannot open it reports): the silo tells the catalogue, the catalogue the gateway.
        await FailModel(voiceId);

        // The gateway's watcher runs beside this test: its next answers refuse the voice, well before any cache lifetime would.
        var clock = Stopwatch.StartNew();
        HttpResponseMessage refused;
        do
        {
            refused = await Gateway.Client.Synthesize(new { text = "Hello.", voice_id = voiceId, format = "wav" }, wait: true);
        }
        while (refused.StatusCode == HttpStatusCode.OK && clock.Elapsed < s_patience);

        await refused.AssertProblem(HttpStatusCode.ServiceUnavailable, "voice_unavailable", "voice_id");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"The voice was still accepted {clock.Elapsed.TotalSeconds:0.0} s after its model failed.");
    }

    [Fact]
    public async Task The_kept_catalogue_a_language_is_chosen_from_follows_a_voice_that_fails()
    {
        var cache = Gateway.Services.GetRequiredService<MitTts.Gateway.Apis.VoiceCache>();
        var piper = (await cache.All()).Single(v => v.Engine == "piper");
        Assert.True(piper.IsAvailable);
        Assert.Same(await cache.All(), await cache.All());

        await FailModel(piper.Id);

        var clock = Stopwatch.StartNew();
        while ((await cache.All()).Single(v => v.Id == piper.Id).IsAvailable && clock.Elapsed < s_patience)
        {
            await Task.Delay(10);
        }

        Assert.False((await cache.All()).Single(v => v.Id == piper.Id).IsAvailable);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"The kept catalogue still had the voice available {clock.Elapsed.TotalSeconds:0.0} s after its model failed.");
    }

    /// <summary>Fails the voice's model on the silo and waits for the catalogue to say so.</summary>
    private async Task FailModel(string voiceId)
    {
        var version = await Catalogue.WaitForChange(-1, s_patience);
        var changed = Catalogue.WaitForChange(version, s_patience);
        var model = Gateway.Services.GetRequiredService<VoiceCatalog>().Find(voiceId)!.Model!;
        Gateway.Services.GetRequiredService<NeuralEngines>().Failed(model, "test: the model file went bad");
        Assert.NotEqual(version, await changed.WaitAsync(s_patience));
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }
    }

    public void Dispose() => _models.Dispose();
}
