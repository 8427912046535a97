using MitTts.Grains.Interfaces;
using MitTts.Speech.Audio;

namespace MitTts.Grains.Formats;

/// <summary>The bridge from the API's <see cref="AudioFormat"/> to the encoder that produces it, and what each encoder
/// states about itself as the <see cref="AudioFormatInfo"/> the gateway validates against.</summary>
/// <remarks>Nothing here knows a format: a new one is an encoder in <see cref="AudioEncoders"/> and a value of the enum.</remarks>
public static class AudioFormatCatalog
{
    private static readonly IAudioEncoder[] s_encoders = CreateEncoders();

    /// <summary>Every format of the enum with its encoder's capabilities, in enum order.</summary>
    public static IReadOnlyList<AudioFormatInfo> Formats { get; } = CreateInfos();

    /// <summary>The encoder of <paramref name="format"/>.</summary>
    public static IAudioEncoder Encoder(AudioFormat format) =>
        (uint)format < (uint)s_encoders.Length && s_encoders[(int)format] is { } encoder
            ? encoder
            : throw new ArgumentOutOfRangeException(nameof(format), format, "No encoder for this format.");

    /// <summary>What <paramref name="encoder"/> accepts and produces, for the API's <paramref name="format"/>.</summary>
    public static AudioFormatInfo Describe(AudioFormat format, IAudioEncoder encoder)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        return new AudioFormatInfo(
            format,
            encoder.Format,
            encoder.Description,
            encoder.ContentType,
            encoder.FileExtension,
            encoder.Container,
            [.. encoder.SampleRates],
            encoder.RequiredSampleRate,
            encoder.Bitrates is { } bitrates
                ? new AudioBitrateInfo(bitrates.DefaultKbps, bitrates.MinimumKbps, bitrates.MaximumKbps, [.. bitrates.AllowedKbps],
                    bitrates.MaximumKbpsByRate is { } byRate ? new Dictionary<int, int>(byRate) : null)
                : null,
            encoder.Streams);
    }

    // Indexed by the enum's value: the renderer looks an encoder up per request.
    private static IAudioEncoder[] CreateEncoders()
    {
        var formats = Enum.GetValues<AudioFormat>();
        var encoders = new IAudioEncoder[formats.Max(f => (int)f) + 1];
        foreach (var format in formats)
        {
            encoders[(int)format] = AudioEncoders.TryGet(format.ToString(), out var encoder)
                ? encoder
                : throw new InvalidOperationException($"The API offers '{format}' but no encoder produces it.");
        }

        return encoders;
    }

    private static AudioFormatInfo[] CreateInfos()
    {
        var formats = Enum.GetValues<AudioFormat>();
        var infos = new AudioFormatInfo[formats.Length];
        for (var i = 0; i < formats.Length; i++)
        {
            infos[i] = Describe(formats[i], Encoder(formats[i]));
        }

        return infos;
    }
}
