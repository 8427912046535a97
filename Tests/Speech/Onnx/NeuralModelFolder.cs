namespace MitTts.Tests.Speech.Onnx;

/// <summary>A temporary models folder, deleted with the test.</summary>
public sealed class NeuralModelFolder : IDisposable
{
    public NeuralModelFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"mittts-models-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>Copies the shipped espeak-ng catalogue (<c>voices.json</c>) in, so a server over this folder has its default voices too.</summary>
    public void AddEspeakCatalogue() =>
        File.Copy(System.IO.Path.Combine(AppContext.BaseDirectory, "models", "voices.json"), System.IO.Path.Combine(Path, "voices.json"));

    /// <summary>Writes <c>NAME.onnx</c> and <c>NAME.onnx.json</c>; returns the model's path.</summary>
    public string AddPiper(string name, byte[] model, string config)
    {
        var path = System.IO.Path.Combine(Path, name + ".onnx");
        File.WriteAllBytes(path, model);
        File.WriteAllText(path + ".json", config);
        return path;
    }

    /// <summary>Writes kokoro-v1.0.onnx, voices-v1.0.bin and config.json.</summary>
    public void AddKokoro(params string[] voices)
    {
        File.WriteAllBytes(System.IO.Path.Combine(Path, "kokoro-v1.0.onnx"), NeuralTestModels.Kokoro());
        File.WriteAllBytes(System.IO.Path.Combine(Path, "voices-v1.0.bin"), NeuralTestModels.KokoroVoices(voices));
        File.WriteAllText(System.IO.Path.Combine(Path, "config.json"), NeuralTestModels.KokoroConfig());
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
