using System.Globalization;
using System.Text.Json;
using MitTts.Speech.Engines.Espeak;
using MitTts.Speech.Engines.Onnx.Piper;
using MitTts.Tests.Speech.Onnx;

namespace MitTts.Tests.Api;

/// <summary>The real gateway over a models folder with the espeak-ng catalogue, tiny Piper and Kokoro models built by the tests, and
/// two broken files; one CPU device (so concurrent jobs meet in one queue) with Piper batches of up to 4; the audio cache off, so every
/// request reaches the engine.</summary>
public sealed class NeuralGatewayFixture : IAsyncLifetime, IDisposable
{
    public const string PiperFile = "en_US-test-x_low.onnx";

    /// <summary>A Piper model whose every inference takes a while (a chain of matrix products), so jobs wait and batch.</summary>
    public const string SlowPiperFile = "en_GB-slow-x_low.onnx";

    /// <summary>A Piper model whose inference takes seconds, to cancel one mid-run.</summary>
    public const string VerySlowPiperFile = "en_GB-crawl-x_low.onnx";

    /// <summary>Garbage where an ONNX model should be, with a good config: discovered, but ONNX Runtime cannot load it.</summary>
    public const string BrokenModelFile = "en_US-broken-x_low.onnx";

    /// <summary>A model whose config is not JSON: no voice at all.</summary>
    public const string BrokenConfigFile = "en_US-badconfig-x_low.onnx";

    private readonly NeuralModelFolder _models = new();
    private RunningGateway? _gateway;

    public HttpClient Client => _gateway!.Client;

    public Uri BaseAddress => _gateway!.BaseAddress;

    public EspeakPhonemizer Phonemizer { get; } = new();

    public PiperVoiceConfig PiperConfig { get; } = PiperVoiceConfig.Parse(JsonDocument.Parse(NeuralTestModels.PiperConfig()).RootElement);

    public async Task InitializeAsync()
    {
        _models.AddEspeakCatalogue();
        var config = NeuralTestModels.PiperConfig();
        _models.AddPiper(Path.GetFileNameWithoutExtension(PiperFile), NeuralTestModels.Piper(), config);
        _models.AddPiper(Path.GetFileNameWithoutExtension(SlowPiperFile), NeuralTestModels.Piper(slowMatMuls: 6), config);
        _models.AddPiper(Path.GetFileNameWithoutExtension(VerySlowPiperFile), NeuralTestModels.Piper(slowMatMuls: 800), config);
        _models.AddPiper(Path.GetFileNameWithoutExtension(BrokenModelFile), [1, 2, 3, 4, 5, 6, 7, 8], config);
        _models.AddPiper(Path.GetFileNameWithoutExtension(BrokenConfigFile), NeuralTestModels.Piper(), "{ not json");
        _models.AddKokoro("af_heart", "bm_lewis");
        _gateway = await RunningGateway.Start(
            $"--tts:model_path={_models.Path}",
            "--tts:cache_size=0",
            "--tts:onnx_threads=1",
            "--tts:max_batch_cpu=4",
            // The very slow model's calibration is three inferences of about 20 s each: learnt at startup, it would run beside every
            // test of the collection. Here the first stream of each voice learns it (StreamGainWarmupTests cover startup).
            "--tts:calibrate_at_startup=false");
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }
    }

    /// <summary>After <see cref="DisposeAsync"/>: the models folder goes once the server that read it has stopped.</summary>
    public void Dispose() => _models.Dispose();

    /// <summary>The voice the server made of <paramref name="file"/> (and named <paramref name="name"/>, for Kokoro's several).</summary>
    public async Task<JsonElement> Voice(string file, string? name = null)
    {
        var body = await (await Client.GetAsync("/api/v1/voices")).Json();
        return body.GetProperty("voices").EnumerateArray().Single(v =>
            v.GetProperty("description").GetString()!.EndsWith(file, StringComparison.Ordinal)
            && (name is null || v.GetProperty("name").GetString() == name));
    }

    public async Task<string> VoiceId(string file, string? name = null) => (await Voice(file, name)).GetProperty("id").GetString()!;

    /// <summary>The Piper ids the text's sentences give, as the engine makes them (one row per espeak-ng sentence).</summary>
    public async Task<long[]> PiperIds(string text)
    {
        var ids = new List<long>();
        foreach (var sentence in await Phonemizer.PhonemizeAsync(text, "en-us"))
        {
            ids.AddRange(PiperPhonemeIds.Encode(sentence, PiperConfig.PhonemeIds).Ids);
        }

        return [.. ids];
    }

    /// <summary>The figures of every device in <c>/status</c>.</summary>
    public async Task<List<JsonElement>> Devices()
    {
        var status = await (await Client.GetAsync("/api/v1/status")).Json();
        return [.. status.GetProperty("tts_engine").GetProperty("devices").EnumerateArray()];
    }

    public static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);
}

[CollectionDefinition(Name)]
public sealed class NeuralGatewayCollection : ICollectionFixture<NeuralGatewayFixture>
{
    public const string Name = "neural gateway";
}
