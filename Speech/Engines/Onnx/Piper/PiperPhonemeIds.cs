using System.Collections.Frozen;
using System.Text;

namespace MitTts.Speech.Engines.Onnx.Piper;

/// <summary>Phonemes to a Piper model's ids, by piper-phonemize's rules: <c>^ _</c>, then each phoneme followed by <c>_</c>, then <c>$</c>.
/// A phoneme the map does not know is skipped and counted.</summary>
public static class PiperPhonemeIds
{
    public const char Pad = '_';
    public const char Bos = '^';
    public const char Eos = '$';

    /// <summary>The ids of one sentence's phonemes, and how many phonemes were not in <paramref name="map"/>.</summary>
    public static (long[] Ids, int UnknownPhonemes) Encode(string phonemes, FrozenDictionary<int, long[]> map)
    {
        ArgumentNullException.ThrowIfNull(phonemes);
        ArgumentNullException.ThrowIfNull(map);
        var pad = map[Pad];
        var ids = new List<long>((phonemes.Length * 2) + 4);
        ids.AddRange(map[Bos]);
        ids.AddRange(pad);
        var unknown = 0;
        foreach (var rune in phonemes.EnumerateRunes())
        {
            if (!map.TryGetValue(rune.Value, out var mapped))
            {
                unknown++;
                continue;
            }

            ids.AddRange(mapped);
            ids.AddRange(pad);
        }

        ids.AddRange(map[Eos]);
        return ([.. ids], unknown);
    }

    /// <summary>The phoneme each id stands for (the first phoneme of the map that has it); for tests and logs.</summary>
    public static string Decode(ReadOnlySpan<long> ids, FrozenDictionary<int, long[]> map)
    {
        ArgumentNullException.ThrowIfNull(map);
        var byId = new Dictionary<long, int>();
        foreach (var (phoneme, mapped) in map)
        {
            if (mapped.Length == 1)
            {
                byId.TryAdd(mapped[0], phoneme);
            }
        }

        var text = new StringBuilder(ids.Length);
        foreach (var id in ids)
        {
            text.Append(byId.TryGetValue(id, out var phoneme) ? char.ConvertFromUtf32(phoneme) : "\uFFFD");
        }

        return text.ToString();
    }
}
