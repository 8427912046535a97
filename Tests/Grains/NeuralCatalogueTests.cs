using Microsoft.Extensions.Options;
using MitTts.Grains;
using MitTts.Grains.Voices;
using MitTts.Tests.Speech.Onnx;

namespace MitTts.Tests.Grains;

/// <summary>The catalogue a silo builds from <c>voices.json</c> and the models beside it.</summary>
public sealed class NeuralCatalogueTests : IDisposable
{
    private readonly NeuralModelFolder _models = new();

    public void Dispose() => _models.Dispose();

    private VoiceCatalog Catalog(string voicesJson)
    {
        File.WriteAllText(Path.Combine(_models.Path, VoiceCatalog.FileName), voicesJson);
        return new VoiceCatalog(Options.Create(new TtsOptions { ModelPath = _models.Path }));
    }

    [Fact]
    public void A_dropped_in_model_becomes_a_voice_beside_the_listed_ones()
    {
        var model = _models.AddPiper("en_US-lessac-medium", NeuralTestModels.Piper(), NeuralTestModels.PiperConfig());

        var catalog = Catalog("""{ "voices": [ { "id": "en-test-1", "language": "en", "gender": "male", "name": "Espeak", "description": "d", "engine": "espeak-ng", "engine_voice": "en" } ] }""");

        var neural = Assert.Single(catalog.Voices, v => v.Model is not null);
        Assert.Equal("en-test-2", neural.Id); // dataset "test", and en-test-1 is taken
        Assert.Equal(("piper", NeuralTestModels.PiperSampleRate, model), (neural.Engine, neural.SampleRate!.Value, neural.Model));
        Assert.Equal("unknown", neural.Gender);
        Assert.Empty(catalog.Problems);
    }

    [Fact]
    public void An_entry_naming_a_model_takes_the_place_of_its_discovered_voice()
    {
        _models.AddPiper("multi", NeuralTestModels.Piper(withSpeakers: true), NeuralTestModels.PiperConfig(speakers: ["alice", "bob"]));

        var catalog = Catalog("""{ "voices": [ { "id": "en-bob-7", "language": "en", "gender": "male", "name": "Bob", "description": "Our Bob", "engine": "piper", "engine_voice": "bob", "model": "multi.onnx" } ] }""");

        var bob = catalog.Find("en-bob-7")!;
        Assert.Equal(("Bob", "Our Bob", NeuralTestModels.PiperSampleRate), (bob.Name, bob.Description, bob.SampleRate!.Value));
        Assert.Equal(Path.Combine(_models.Path, "multi.onnx"), bob.Model);

        // alice is still found; bob is not listed twice.
        Assert.Equal(["alice", "bob"], catalog.Voices.Where(v => v.Model is not null).Select(v => v.EngineVoice).Order());
    }

    [Fact]
    public void An_entry_naming_a_missing_model_is_a_problem_not_a_failure()
    {
        var catalog = Catalog("""{ "voices": [ { "id": "en-gone-1", "language": "en", "gender": "male", "name": "Gone", "description": "d", "engine": "piper", "engine_voice": "", "model": "gone.onnx" } ] }""");

        var problem = Assert.Single(catalog.Problems);
        Assert.EndsWith("gone.onnx", problem.Path, StringComparison.Ordinal);
        Assert.Null(catalog.Find("en-gone-1")!.SampleRate);
    }
}
