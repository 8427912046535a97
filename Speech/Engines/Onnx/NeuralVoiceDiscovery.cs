using System.Text;
using MitTts.Speech.Engines.Onnx.Kokoro;
using MitTts.Speech.Engines.Onnx.Piper;

namespace MitTts.Speech.Engines.Onnx;

/// <summary>A voice found in the models folder.</summary>
/// <param name="Id">A catalogue id (<c>en-lessac-1</c>: language, name, number), unique among the ids the discovery was given.</param>
/// <param name="Language">Two-letter language code (<c>en</c>).</param>
/// <param name="Gender"><c>female</c>/<c>male</c> where the files say it (Kokoro's names do, Piper's configs do not).</param>
/// <param name="SampleRate">The model's output rate in Hz.</param>
/// <param name="Engine"><see cref="PiperEngine.EngineName"/> or <see cref="KokoroEngine.EngineName"/>.</param>
/// <param name="ModelPath">The <c>.onnx</c> file.</param>
/// <param name="EngineVoice">What the engine takes as <see cref="SpeechRequest.EngineVoice"/>: a Piper speaker name (empty for a
/// single-speaker model) or a Kokoro voice (<c>af_heart</c>).</param>
/// <param name="Name">A human name (<c>lessac</c>, <c>libritts speaker p225</c>, <c>heart</c>).</param>
public sealed record NeuralVoice(string Id, string Language, string? Gender, int SampleRate, string Engine, string ModelPath, string EngineVoice, string Name);

/// <summary>A model file that gives no voice, and why, naming the file.</summary>
public sealed record NeuralModelProblem(string Path, string Reason);

/// <summary>What a scan found: the voices, and the files that are broken.</summary>
public sealed record NeuralVoiceScan(IReadOnlyList<NeuralVoice> Voices, IReadOnlyList<NeuralModelProblem> Problems);

/// <summary>Finds the neural voices in a models folder (and its subfolders): every Piper <c>NAME.onnx</c> + <c>NAME.onnx.json</c>,
/// one voice per speaker; Kokoro's <c>kokoro-v1.0.onnx</c> + <c>voices-v1.0.bin</c> + <c>config.json</c>, one voice per pack entry.</summary>
/// <remarks>Reads configs and voice packs, not the models: no session is made, so a scan is cheap; a model ONNX Runtime cannot load is
/// found when its session is first made.</remarks>
public sealed class NeuralVoiceDiscovery(IEnumerable<string> takenIds)
{
    public const string KokoroModelFile = "kokoro-v1.0.onnx";
    public const string KokoroVoicesFile = "voices-v1.0.bin";
    public const string KokoroConfigFile = "config.json";

    private readonly HashSet<string> _taken = new(takenIds, StringComparer.Ordinal);

    /// <summary>Scans <paramref name="folder"/>; voice ids avoid the ids given to the constructor and each other.</summary>
    public NeuralVoiceScan Scan(string folder)
    {
        var voices = new List<NeuralVoice>();
        var problems = new List<NeuralModelProblem>();
        if (!Directory.Exists(folder))
        {
            return new NeuralVoiceScan(voices, problems);
        }

        var models = Directory.GetFiles(folder, "*.onnx", SearchOption.AllDirectories);
        Array.Sort(models, StringComparer.Ordinal);
        foreach (var model in models)
        {
            try
            {
                if (string.Equals(Path.GetFileName(model), KokoroModelFile, StringComparison.Ordinal))
                {
                    AddKokoro(model, voices);
                }
                else
                {
                    AddPiper(model, voices);
                }
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                problems.Add(new NeuralModelProblem(model, e.Message));
            }
        }

        return new NeuralVoiceScan(voices, problems);
    }

    private void AddPiper(string model, List<NeuralVoice> voices)
    {
        CheckModelFile(model);
        if (!File.Exists(model + ".json"))
        {
            throw new InvalidDataException($"{model}: its config {Path.GetFileName(model)}.json is missing.");
        }

        var config = PiperVoiceConfig.Load(model + ".json");
        var language = TwoLetters(config.LanguageCode ?? config.EspeakVoice);
        var name = config.Dataset ?? NameOfPiperFile(Path.GetFileNameWithoutExtension(model));
        var word = Word(name, "piper");
        if (config.NumSpeakers <= 1 || config.SpeakerIds.Count == 0)
        {
            voices.Add(new NeuralVoice(NextId(language, word), language, null, config.SampleRate, PiperEngine.EngineName, model, string.Empty, name));
            return;
        }

        var speakers = new List<KeyValuePair<string, long>>(config.SpeakerIds);
        speakers.Sort((a, b) => a.Value.CompareTo(b.Value));
        foreach (var (speaker, _) in speakers)
        {
            voices.Add(new NeuralVoice(
                NextId(language, word), language, null, config.SampleRate, PiperEngine.EngineName, model, speaker, $"{name} speaker {speaker}"));
        }
    }

    private void AddKokoro(string model, List<NeuralVoice> voices)
    {
        CheckModelFile(model);
        var folder = Path.GetDirectoryName(model)!;
        var packPath = Path.Combine(folder, KokoroVoicesFile);
        var configPath = Path.Combine(folder, KokoroConfigFile);
        if (!File.Exists(packPath))
        {
            throw new InvalidDataException($"{model}: Kokoro's voice pack {KokoroVoicesFile} is missing beside it.");
        }

        if (!File.Exists(configPath))
        {
            throw new InvalidDataException($"{model}: Kokoro's {KokoroConfigFile} (its phoneme vocabulary) is missing beside it.");
        }

        _ = KokoroVocabulary.Load(configPath);
        var pack = KokoroVoicePack.Load(packPath);
        var names = new List<string>(pack.Voices);
        names.Sort(StringComparer.Ordinal);
        foreach (var voice in names)
        {
            var language = KokoroVoiceNames.Language(voice);
            if (language is null)
            {
                continue;
            }

            var name = voice.Length > 3 ? voice[3..] : voice;
            voices.Add(new NeuralVoice(
                NextId(language, Word(name, "kokoro")), language, KokoroVoiceNames.Gender(voice), KokoroModel.SampleRate, KokoroEngine.EngineName, model, voice, name));
        }
    }

    private static void CheckModelFile(string model)
    {
        if (new FileInfo(model).Length == 0)
        {
            throw new InvalidDataException($"{model}: the file is empty.");
        }
    }

    private string NextId(string language, string word)
    {
        for (var n = 1; ; n++)
        {
            var id = $"{language}-{word}-{n}";
            if (_taken.Add(id))
            {
                return id;
            }
        }
    }

    /// <summary>Piper's release names are <c>LANG_REGION-NAME-QUALITY</c> (<c>en_US-lessac-medium</c>): the middle part.</summary>
    private static string NameOfPiperFile(string file)
    {
        var parts = file.Split('-');
        return parts.Length >= 3 ? parts[1] : file;
    }

    private static string TwoLetters(string code)
    {
        var letters = code.Length >= 2 && char.IsAsciiLetter(code[0]) && char.IsAsciiLetter(code[1]) ? code[..2] : "xx";
        return letters.ToLowerInvariant();
    }

    /// <summary>The lowercase ASCII letters of a name, as a catalogue id's middle part must be.</summary>
    private static string Word(string name, string fallback)
    {
        var word = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            if (char.IsAsciiLetter(c))
            {
                word.Append(char.ToLowerInvariant(c));
            }
        }

        return word.Length > 0 ? word.ToString() : fallback;
    }
}
