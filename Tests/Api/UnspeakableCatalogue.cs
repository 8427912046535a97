namespace MitTts.Tests.Api;

/// <summary>A model folder whose catalogue holds one voice, for an engine this server does not have, made its default; deleted on
/// dispose. A server started with <see cref="Settings"/> has no voice it can speak.</summary>
public sealed class UnspeakableCatalogue : IDisposable
{
    private UnspeakableCatalogue()
    {
    }

    public string Folder { get; } = Directory.CreateTempSubdirectory("mittts-novoice-").FullName;

    /// <summary>The server settings that use this catalogue and its voice as the default.</summary>
    public string[] Settings => [$"--tts:model_path={Folder}", "--tts:default_voice=xx-nobody-1"];

    public static async Task<UnspeakableCatalogue> Create()
    {
        var catalogue = new UnspeakableCatalogue();
        await File.WriteAllTextAsync(Path.Combine(catalogue.Folder, "voices.json"), """
            {"voices": [{"id": "xx-nobody-1", "language": "xx", "gender": "female", "name": "Nadie", "description": "no engine speaks it",
                         "engine": "no-such-engine", "engine_voice": "xx"}]}
            """);
        return catalogue;
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
