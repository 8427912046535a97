using System.Collections.Frozen;
using System.Text.Json;

namespace MitTts.Speech.Engines.Onnx.Piper;

/// <summary>A Piper voice's <c>NAME.onnx.json</c>: what the model was trained on and how to feed it.</summary>
public sealed class PiperVoiceConfig
{
    private PiperVoiceConfig(
        int sampleRate,
        string espeakVoice,
        FrozenDictionary<int, long[]> phonemeIds,
        PiperScales scales,
        int numSpeakers,
        IReadOnlyDictionary<string, long> speakerIds,
        string? languageCode,
        string? dataset)
    {
        SampleRate = sampleRate;
        EspeakVoice = espeakVoice;
        PhonemeIds = phonemeIds;
        Scales = scales;
        NumSpeakers = numSpeakers;
        SpeakerIds = speakerIds;
        LanguageCode = languageCode;
        Dataset = dataset;
    }

    /// <summary><c>audio.sample_rate</c>: the rate of the model's output.</summary>
    public int SampleRate { get; }

    /// <summary><c>espeak.voice</c>: the espeak-ng voice that phonemizes this model's text.</summary>
    public string EspeakVoice { get; }

    /// <summary><c>phoneme_id_map</c>, keyed by the phoneme's code point (every key of Piper's maps is one code point).</summary>
    public FrozenDictionary<int, long[]> PhonemeIds { get; }

    /// <summary><c>inference</c>: the voice's default noise and length scales.</summary>
    public PiperScales Scales { get; }

    /// <summary><c>num_speakers</c>: above 1, the model takes a <c>sid</c> input.</summary>
    public int NumSpeakers { get; }

    /// <summary><c>speaker_id_map</c>: speaker names of a multi-speaker model and their ids.</summary>
    public IReadOnlyDictionary<string, long> SpeakerIds { get; }

    /// <summary><c>language.code</c> (<c>en_US</c>) where the config has it.</summary>
    public string? LanguageCode { get; }

    /// <summary><c>dataset</c>: the voice's name in Piper's releases (<c>lessac</c>).</summary>
    public string? Dataset { get; }

    /// <summary>Reads and checks a config file.</summary>
    /// <exception cref="InvalidDataException">The file is not a usable Piper config; the message names the file and the field.</exception>
    public static PiperVoiceConfig Load(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var json = JsonDocument.Parse(stream);
            return Parse(json.RootElement);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    internal static PiperVoiceConfig Parse(JsonElement root)
    {
        var phonemeType = root.TryGetProperty("phoneme_type", out var type) ? type.GetString() : "espeak";
        if (phonemeType != "espeak")
        {
            throw new InvalidDataException($"phoneme_type '{phonemeType}' is not supported (only espeak).");
        }

        var sampleRate = Required(root, "audio", "sample_rate").GetInt32();
        if (sampleRate <= 0)
        {
            throw new InvalidDataException($"audio.sample_rate {sampleRate} is not a rate.");
        }

        var voice = Required(root, "espeak", "voice").GetString();
        if (string.IsNullOrWhiteSpace(voice))
        {
            throw new InvalidDataException("espeak.voice is empty.");
        }

        var ids = new Dictionary<int, long[]>();
        foreach (var entry in Required(root, "phoneme_id_map").EnumerateObject())
        {
            var rune = entry.Name.EnumerateRunes().GetEnumerator();
            if (!rune.MoveNext() || rune.Current.Utf16SequenceLength != entry.Name.Length)
            {
                throw new InvalidDataException($"phoneme_id_map key '{entry.Name}' is not one code point.");
            }

            var values = new long[entry.Value.GetArrayLength()];
            var i = 0;
            foreach (var id in entry.Value.EnumerateArray())
            {
                values[i++] = id.GetInt64();
            }

            ids[rune.Current.Value] = values;
        }

        foreach (var symbol in (ReadOnlySpan<char>)[PiperPhonemeIds.Pad, PiperPhonemeIds.Bos, PiperPhonemeIds.Eos])
        {
            if (!ids.ContainsKey(symbol))
            {
                throw new InvalidDataException($"phoneme_id_map has no '{symbol}'.");
            }
        }

        var inference = root.TryGetProperty("inference", out var section) ? section : default;
        var scales = new PiperScales(
            Optional(inference, "noise_scale", 0.667f),
            Optional(inference, "length_scale", 1.0f),
            Optional(inference, "noise_w", 0.8f));

        var speakers = new Dictionary<string, long>(StringComparer.Ordinal);
        if (root.TryGetProperty("speaker_id_map", out var speakerMap) && speakerMap.ValueKind == JsonValueKind.Object)
        {
            foreach (var speaker in speakerMap.EnumerateObject())
            {
                speakers[speaker.Name] = speaker.Value.GetInt64();
            }
        }

        var numSpeakers = root.TryGetProperty("num_speakers", out var n) ? n.GetInt32() : 1;
        var language = root.TryGetProperty("language", out var lang) && lang.ValueKind == JsonValueKind.Object
            && lang.TryGetProperty("code", out var code) ? code.GetString() : null;
        var dataset = root.TryGetProperty("dataset", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
        return new PiperVoiceConfig(sampleRate, voice, ids.ToFrozenDictionary(), scales, Math.Max(numSpeakers, 1), speakers, language, dataset);
    }

    private static JsonElement Required(JsonElement root, string name, string? child = null)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(name, out var value))
        {
            throw new InvalidDataException($"'{name}' is missing.");
        }

        if (child is null)
        {
            return value;
        }

        if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(child, out var inner))
        {
            throw new InvalidDataException($"'{name}.{child}' is missing.");
        }

        return inner;
    }

    private static float Optional(JsonElement section, string name, float fallback) =>
        section.ValueKind == JsonValueKind.Object && section.TryGetProperty(name, out var value) ? value.GetSingle() : fallback;
}

/// <summary>The model's <c>scales</c> input: noise, length (duration: above 1 is slower) and noise width.</summary>
public readonly record struct PiperScales(float NoiseScale, float LengthScale, float NoiseW);
