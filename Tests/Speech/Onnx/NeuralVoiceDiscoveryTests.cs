using MitTts.Speech.Engines.Onnx;

namespace MitTts.Tests.Speech.Onnx;

public sealed class NeuralVoiceDiscoveryTests : IDisposable
{
    private readonly NeuralModelFolder _models = new();

    public void Dispose() => _models.Dispose();

    [Fact]
    public void Piper_pairs_and_the_Kokoro_pack_become_voices_with_catalogue_ids()
    {
        var lessac = _models.AddPiper("en_US-lessac-medium", NeuralTestModels.Piper(), NeuralTestModels.PiperConfig());
        var spanish = _models.AddPiper("es_ES-davefx-medium", NeuralTestModels.Piper(), NeuralTestModels.PiperConfig("es", "es_ES").Replace("\"test\"", "\"davefx\"", StringComparison.Ordinal));
        var multi = _models.AddPiper(
            "en_GB-vctk-medium", NeuralTestModels.Piper(withSpeakers: true), NeuralTestModels.PiperConfig("en-gb", "en_GB", ["p225", "p226"]).Replace("\"test\"", "\"vctk\"", StringComparison.Ordinal));
        _models.AddKokoro("af_heart", "bm_george", "ef_dora");

        var scan = new NeuralVoiceDiscovery(["en-female-1", "en-heart-1"]).Scan(_models.Path);

        Assert.Empty(scan.Problems);
        var kokoro = Path.Combine(_models.Path, NeuralVoiceDiscovery.KokoroModelFile);
        Assert.Equal(
            [
                new NeuralVoice("en-test-1", "en", null, 16000, "piper", lessac, string.Empty, "test"),
                new NeuralVoice("es-davefx-1", "es", null, 16000, "piper", spanish, string.Empty, "davefx"),
                new NeuralVoice("en-vctk-1", "en", null, 16000, "piper", multi, "p225", "vctk speaker p225"),
                new NeuralVoice("en-vctk-2", "en", null, 16000, "piper", multi, "p226", "vctk speaker p226"),
                new NeuralVoice("en-heart-2", "en", "female", 24000, "kokoro", kokoro, "af_heart", "heart"),
                new NeuralVoice("en-george-1", "en", "male", 24000, "kokoro", kokoro, "bm_george", "george"),
                new NeuralVoice("es-dora-1", "es", "female", 24000, "kokoro", kokoro, "ef_dora", "dora"),
            ],
            scan.Voices.OrderBy(v => v.Engine == "kokoro").ThenBy(v => v.ModelPath.Contains("vctk", StringComparison.Ordinal)).ThenBy(v => v.ModelPath, StringComparer.Ordinal).ThenBy(v => v.EngineVoice, StringComparer.Ordinal));
        Assert.All(scan.Voices, v => Assert.Matches("^[a-z]{2}-[a-z]+-\\d+$", v.Id));
    }

    [Fact]
    public void A_broken_model_is_reported_by_file_and_the_others_still_become_voices()
    {
        _models.AddPiper("en_US-good-low", NeuralTestModels.Piper(), NeuralTestModels.PiperConfig());
        _models.AddPiper("en_US-noconfig-low", NeuralTestModels.Piper(), "{}");
        File.WriteAllBytes(Path.Combine(_models.Path, "lonely.onnx"), NeuralTestModels.Piper());
        File.WriteAllBytes(Path.Combine(_models.Path, NeuralVoiceDiscovery.KokoroModelFile), NeuralTestModels.Kokoro());

        var scan = new NeuralVoiceDiscovery([]).Scan(_models.Path);

        Assert.Single(scan.Voices);
        Assert.Equal(3, scan.Problems.Count);
        Assert.Contains(scan.Problems, p => p.Path.EndsWith("en_US-noconfig-low.onnx", StringComparison.Ordinal) && p.Reason.Contains("audio", StringComparison.Ordinal));
        Assert.Contains(scan.Problems, p => p.Path.EndsWith("lonely.onnx", StringComparison.Ordinal) && p.Reason.Contains("lonely.onnx.json", StringComparison.Ordinal));
        Assert.Contains(scan.Problems, p => p.Reason.Contains(NeuralVoiceDiscovery.KokoroVoicesFile, StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_folder_has_no_voices() =>
        Assert.Empty(new NeuralVoiceDiscovery([]).Scan(Path.Combine(_models.Path, "absent")).Voices);
}
