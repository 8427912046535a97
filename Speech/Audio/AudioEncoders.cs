using System.Collections.Frozen;

namespace MitTts.Speech.Audio;

/// <summary>The formats this build can produce, by their API name.</summary>
public static class AudioEncoders
{
    private static readonly FrozenDictionary<string, IAudioEncoder> s_byFormat =
        new IAudioEncoder[] { new WavEncoder(), new PcmEncoder(), new Mp3Encoder(), new OggOpusEncoder(), new MulawEncoder(), new AlawEncoder(), new FlacEncoder(), new AacEncoder() }
            .ToFrozenDictionary(e => e.Format, StringComparer.OrdinalIgnoreCase);

    /// <summary>The API names of every supported format.</summary>
    public static IReadOnlyCollection<string> Formats => s_byFormat.Keys;

    public static bool TryGet(string format, out IAudioEncoder encoder) => s_byFormat.TryGetValue(format, out encoder!);

    public static IAudioEncoder Get(string format) =>
        s_byFormat.TryGetValue(format, out var encoder) ? encoder : throw new ArgumentOutOfRangeException(nameof(format), format, "Unsupported audio format.");
}
