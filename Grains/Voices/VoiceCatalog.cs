using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using MitTts.Speech.Engines.Onnx;

namespace MitTts.Grains.Voices;

/// <summary>The voices of <c>models/voices.json</c> and the neural voices found beside it, read once per silo.</summary>
/// <remarks>Every Piper and Kokoro model in the models folder becomes voices (<see cref="NeuralVoiceDiscovery"/>); an entry of
/// <c>voices.json</c> whose <c>model</c> names one of them (and whose <c>engine_voice</c> names the speaker) takes its place, with the
/// entry's id, name and description. A file that gives no voice is listed in <see cref="Problems"/>, never fatal.</remarks>
public sealed partial class VoiceCatalog
{
    public const string FileName = "voices.json";

    private readonly FrozenDictionary<string, VoiceEntry> _voices;

    public VoiceCatalog(IOptions<TtsOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var folder = options.Value.ResolveModelPath();
        var listed = Load(Path.Combine(folder, FileName));
        var (voices, problems) = AddNeuralVoices(folder, listed);
        _voices = voices.ToFrozenDictionary(StringComparer.Ordinal);
        Problems = problems;
    }

    /// <summary>Voice ids look like <c>es-female-1</c>: language, descriptor, number.</summary>
    [GeneratedRegex(@"^[a-z]{2}-[a-z]+-\d+$", RegexOptions.CultureInvariant)]
    public static partial Regex VoiceIdPattern();

    public IReadOnlyCollection<string> Ids => _voices.Keys;

    public IReadOnlyCollection<VoiceEntry> Voices => _voices.Values;

    /// <summary>Model files in the models folder that give no voice, and why (each names its file).</summary>
    public IReadOnlyList<NeuralModelProblem> Problems { get; }

    public VoiceEntry? Find(string voiceId) => _voices.GetValueOrDefault(voiceId);

    private static Dictionary<string, VoiceEntry> Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The voice catalogue {path} does not exist: set tts.model_path (MIT_TTS_MODEL_PATH) to the models folder.", path);
        }

        using var stream = File.OpenRead(path);
        var file = JsonSerializer.Deserialize(stream, VoiceCatalogJsonContext.Default.VoiceCatalogFile)
            ?? throw new InvalidDataException($"{path} is empty.");
        var folder = Path.GetDirectoryName(path)!;
        var voices = new Dictionary<string, VoiceEntry>(StringComparer.Ordinal);
        foreach (var listed in file.Voices)
        {
            if (!VoiceIdPattern().IsMatch(listed.Id))
            {
                throw new InvalidDataException($"{path}: voice id '{listed.Id}' does not match {VoiceIdPattern()}.");
            }

            // A model is named relative to the models folder; kept as a full path so discovered files can be matched to it.
            var voice = listed.Model is { Length: > 0 } model ? listed with { Model = Path.GetFullPath(model, folder) } : listed with { Model = null };
            if (!voices.TryAdd(voice.Id, voice))
            {
                throw new InvalidDataException($"{path}: voice id '{voice.Id}' appears twice.");
            }
        }

        return voices;
    }

    private static (Dictionary<string, VoiceEntry> Voices, List<NeuralModelProblem> Problems) AddNeuralVoices(string folder, Dictionary<string, VoiceEntry> voices)
    {
        var scan = new NeuralVoiceDiscovery(voices.Keys).Scan(folder);
        var problems = new List<NeuralModelProblem>(scan.Problems);
        var named = new Dictionary<(string Model, string EngineVoice), string>();
        foreach (var voice in voices.Values)
        {
            if (voice.Model is not null)
            {
                named[(voice.Model, voice.EngineVoice)] = voice.Id;
            }
        }

        var found = new HashSet<(string Model, string EngineVoice)>();
        foreach (var discovered in scan.Voices)
        {
            var key = (Path.GetFullPath(discovered.ModelPath), discovered.EngineVoice);
            found.Add(key);
            if (named.TryGetValue(key, out var id))
            {
                // voices.json names this voice: its words win, the file says the engine and the rate.
                voices[id] = voices[id] with { Engine = discovered.Engine, SampleRate = discovered.SampleRate };
                continue;
            }

            voices[discovered.Id] = new VoiceEntry(
                discovered.Id,
                discovered.Language,
                discovered.Gender ?? "unknown",
                discovered.Name,
                $"{discovered.Engine} voice from {Path.GetFileName(discovered.ModelPath)}",
                discovered.Engine,
                discovered.EngineVoice,
                key.Item1,
                discovered.SampleRate);
        }

        foreach (var ((model, engineVoice), id) in named)
        {
            if (!found.Contains((model, engineVoice)) && !problems.Exists(p => Path.GetFullPath(p.Path) == model))
            {
                problems.Add(new NeuralModelProblem(model, $"voice '{id}' of {FileName} names this model (speaker '{engineVoice}'), which is not a usable model there."));
            }
        }

        return (voices, problems);
    }
}

/// <summary>One voice as written in <c>voices.json</c>; a neural voice also has its <see cref="Model"/> file and its
/// <see cref="SampleRate"/> (read from the model's config).</summary>
public sealed record VoiceEntry(
    string Id,
    string Language,
    string Gender,
    string Name,
    string Description,
    string Engine,
    [property: JsonPropertyName("engine_voice")] string EngineVoice,
    string? Model = null,
    int? SampleRate = null);

/// <summary>The shape of <c>voices.json</c>.</summary>
public sealed record VoiceCatalogFile(IReadOnlyList<VoiceEntry> Voices);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, ReadCommentHandling = JsonCommentHandling.Skip)]
[JsonSerializable(typeof(VoiceCatalogFile))]
internal sealed partial class VoiceCatalogJsonContext : JsonSerializerContext;
