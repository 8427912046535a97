namespace MitTts.Speech.Engines.Onnx.Kokoro;

/// <summary>Kokoro's <c>voices-v1.0.bin</c>: per voice a float32 [510, 1, 256] array of style vectors, one per token count.</summary>
public sealed class KokoroVoicePack
{
    public const int StyleSize = 256;

    private readonly Dictionary<string, float[]> _styles;

    private KokoroVoicePack(Dictionary<string, float[]> styles) => _styles = styles;

    /// <summary>The voice names, as the archive's entries are named (<c>af_heart</c>).</summary>
    public IReadOnlyCollection<string> Voices => _styles.Keys;

    /// <exception cref="InvalidDataException">The file is not an .npz of [rows, 1, 256] float32 arrays; the message names it.</exception>
    public static KokoroVoicePack Load(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            var styles = new Dictionary<string, float[]>(StringComparer.Ordinal);
            foreach (var (name, array) in NpzArchive.Read(stream))
            {
                if (array.Shape.Length != 3 || array.Shape[1] != 1 || array.Shape[2] != StyleSize || array.Shape[0] == 0)
                {
                    throw new InvalidDataException($"voice '{name}' has shape ({string.Join(", ", array.Shape)}), not (rows, 1, {StyleSize}).");
                }

                styles[name] = array.Values;
            }

            if (styles.Count == 0)
            {
                throw new InvalidDataException("it holds no voice.");
            }

            return new KokoroVoicePack(styles);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    public bool Contains(string voice) => _styles.ContainsKey(voice);

    /// <summary>The style vector Kokoro takes for <paramref name="tokenCount"/> tokens (the unpadded count), as kokoro-onnx picks it.</summary>
    public ReadOnlySpan<float> Style(string voice, int tokenCount)
    {
        if (!_styles.TryGetValue(voice, out var styles))
        {
            throw new ArgumentException($"The Kokoro voice pack has no voice '{voice}'.", nameof(voice));
        }

        var rows = styles.Length / StyleSize;
        var row = Math.Clamp(tokenCount, 0, rows - 1);
        return styles.AsSpan(row * StyleSize, StyleSize);
    }
}
