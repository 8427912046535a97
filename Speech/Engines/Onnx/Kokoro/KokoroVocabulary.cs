using System.Collections.Frozen;
using System.Text;
using System.Text.Json;

namespace MitTts.Speech.Engines.Onnx.Kokoro;

/// <summary>Kokoro's phoneme vocabulary (<c>config.json</c>'s <c>vocab</c>), and the 510-token limit of one run.</summary>
public sealed class KokoroVocabulary
{
    /// <summary>Tokens one run takes, not counting the 0 pad at each end.</summary>
    public const int MaxTokens = 510;

    private readonly FrozenDictionary<int, long> _ids;

    public KokoroVocabulary(IReadOnlyDictionary<string, long> vocab)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        var ids = new Dictionary<int, long>();
        foreach (var (symbol, id) in vocab)
        {
            var runes = symbol.EnumerateRunes().GetEnumerator();
            if (runes.MoveNext() && runes.Current.Utf16SequenceLength == symbol.Length)
            {
                ids[runes.Current.Value] = id;
            }
        }

        _ids = ids.ToFrozenDictionary();
    }

    /// <exception cref="InvalidDataException">The file has no <c>vocab</c> object; the message names the file.</exception>
    public static KokoroVocabulary Load(string configPath)
    {
        try
        {
            using var stream = File.OpenRead(configPath);
            using var json = JsonDocument.Parse(stream);
            if (!json.RootElement.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException("'vocab' is missing.");
            }

            var map = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var entry in vocab.EnumerateObject())
            {
                map[entry.Name] = entry.Value.GetInt64();
            }

            return new KokoroVocabulary(map);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"{configPath}: {e.Message}", e);
        }
    }

    /// <summary>The tokens of one sentence's phonemes (composed again: Kokoro's vocabulary has precomposed letters), how strong a
    /// break follows each token, and how many phonemes the vocabulary did not have (skipped).</summary>
    public (long[] Tokens, byte[] Breaks, int UnknownPhonemes) Tokenize(string phonemes)
    {
        ArgumentNullException.ThrowIfNull(phonemes);
        var composed = phonemes.Normalize(NormalizationForm.FormC);
        var tokens = new List<long>(composed.Length);
        var breaks = new List<byte>(composed.Length);
        var unknown = 0;
        foreach (var rune in composed.EnumerateRunes())
        {
            if (!_ids.TryGetValue(rune.Value, out var id))
            {
                unknown++;
                continue;
            }

            tokens.Add(id);
            breaks.Add(rune.Value switch
            {
                '.' or '!' or '?' => 3,
                ',' or ';' or ':' or '—' or '…' => 2,
                ' ' => 1,
                _ => 0,
            });
        }

        return ([.. tokens], [.. breaks], unknown);
    }

    /// <summary>Cuts a token sequence into runs of at most <paramref name="max"/> tokens: after the last sentence end that fits, else
    /// the last phrase break (comma, colon...), else the last space, else anywhere. Spaces at the start of a run are dropped.</summary>
    public static List<Range> Split(ReadOnlySpan<byte> breaks, int max = MaxTokens)
    {
        var runs = new List<Range>();
        var start = 0;
        while (breaks.Length - start > max)
        {
            var cut = start + max;
            var strength = 0;
            for (var i = start; i < start + max; i++)
            {
                if (breaks[i] > 0 && breaks[i] >= strength)
                {
                    strength = breaks[i];
                    cut = i + 1;
                }
            }

            runs.Add(start..cut);
            start = cut;
            while (start < breaks.Length && breaks[start] == 1)
            {
                start++;
            }
        }

        if (start < breaks.Length)
        {
            runs.Add(start..breaks.Length);
        }

        return runs;
    }
}
