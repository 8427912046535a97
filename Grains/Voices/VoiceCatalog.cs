using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Voices;

/// <summary>The voices of <c>models/voices.json</c>, read once per silo.</summary>
public sealed partial class VoiceCatalog
{
    public const string FileName = "voices.json";

    private readonly FrozenDictionary<string, VoiceEntry> _voices;

    public VoiceCatalog(IOptions<TtsOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var path = Path.Combine(options.Value.ResolveModelPath(), FileName);
        _voices = Load(path);
    }

    /// <summary>Voice ids look like <c>es-female-1</c>: language, descriptor, number.</summary>
    [GeneratedRegex(@"^[a-z]{2}-[a-z]+-\d+$", RegexOptions.CultureInvariant)]
    public static partial Regex VoiceIdPattern();

    public IReadOnlyCollection<string> Ids => _voices.Keys;

    public VoiceEntry? Find(string voiceId) => _voices.GetValueOrDefault(voiceId);

    private static FrozenDictionary<string, VoiceEntry> Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The voice catalogue {path} does not exist: set tts.model_path (MIT_TTS_MODEL_PATH) to the models folder.", path);
        }

        using var stream = File.OpenRead(path);
        var file = JsonSerializer.Deserialize(stream, VoiceCatalogJsonContext.Default.VoiceCatalogFile)
            ?? throw new InvalidDataException($"{path} is empty.");
        var voices = new Dictionary<string, VoiceEntry>(StringComparer.Ordinal);
        foreach (var voice in file.Voices)
        {
            if (!VoiceIdPattern().IsMatch(voice.Id))
            {
                throw new InvalidDataException($"{path}: voice id '{voice.Id}' does not match {VoiceIdPattern()}.");
            }

            if (!voices.TryAdd(voice.Id, voice))
            {
                throw new InvalidDataException($"{path}: voice id '{voice.Id}' appears twice.");
            }
        }

        return voices.ToFrozenDictionary(StringComparer.Ordinal);
    }
}

/// <summary>One voice as written in <c>voices.json</c>.</summary>
public sealed record VoiceEntry(
    string Id,
    string Language,
    string Gender,
    string Name,
    string Description,
    string Engine,
    [property: JsonPropertyName("engine_voice")] string EngineVoice);

/// <summary>The shape of <c>voices.json</c>.</summary>
public sealed record VoiceCatalogFile(IReadOnlyList<VoiceEntry> Voices);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, ReadCommentHandling = JsonCommentHandling.Skip)]
[JsonSerializable(typeof(VoiceCatalogFile))]
internal sealed partial class VoiceCatalogJsonContext : JsonSerializerContext;
