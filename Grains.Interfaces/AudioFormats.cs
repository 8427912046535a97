namespace MitTts.Grains.Interfaces;

/// <summary>What one output format accepts and produces, as its encoder states it: the gateway validates requests
/// against this without knowing any encoder.</summary>
/// <param name="Format">The format's enum value.</param>
/// <param name="Name">Its name in the API (<c>wav</c>, <c>mp3</c>, ...).</param>
/// <param name="Description">A few words for error messages ("G.711 telephony audio").</param>
/// <param name="ContentType">The HTTP Content-Type of its audio.</param>
/// <param name="FileExtension">The extension of a download.</param>
/// <param name="Container">The container: <c>riff</c>, <c>raw</c>, <c>mpeg</c>, <c>ogg</c>.</param>
/// <param name="SampleRates">The output rates a request may ask for, ascending.</param>
/// <param name="RequiredSampleRate">The only rate the format carries (8000 for G.711), or null.</param>
/// <param name="Bitrates">The bitrates it takes, or null when it has none to choose.</param>
/// <param name="Streams">Whether its chunks can be sent as they are encoded.</param>
[GenerateSerializer, Immutable]
public sealed record AudioFormatInfo(
    [property: Id(0)] AudioFormat Format,
    [property: Id(1)] string Name,
    [property: Id(2)] string Description,
    [property: Id(3)] string ContentType,
    [property: Id(4)] string FileExtension,
    [property: Id(5)] string Container,
    [property: Id(6)] IReadOnlyList<int> SampleRates,
    [property: Id(7)] int? RequiredSampleRate,
    [property: Id(8)] AudioBitrateInfo? Bitrates,
    [property: Id(9)] bool Streams)
{
    /// <summary>Whether a request may ask for <paramref name="sampleRate"/> in this format.</summary>
    public bool AcceptsSampleRate(int sampleRate) => SampleRates.Contains(sampleRate);
}

/// <summary>The bitrates (kbps) a lossy format takes: any whole number from <see cref="MinimumKbps"/> to
/// <see cref="MaximumKbps"/>, or only those in <see cref="AllowedKbps"/> when it is not empty.</summary>
[GenerateSerializer, Immutable]
public sealed record AudioBitrateInfo(
    [property: Id(0)] int DefaultKbps,
    [property: Id(1)] int MinimumKbps,
    [property: Id(2)] int MaximumKbps,
    [property: Id(3)] IReadOnlyList<int> AllowedKbps,
    [property: Id(4)] IReadOnlyDictionary<int, int>? MaximumKbpsByRate = null)
{
    /// <summary>Whether a request may ask for <paramref name="kbps"/>.</summary>
    public bool Accepts(int kbps) => AllowedKbps.Count == 0 ? kbps >= MinimumKbps && kbps <= MaximumKbps : AllowedKbps.Contains(kbps);

    /// <summary>The most kbps the format carries at <paramref name="sampleRate"/> (MP3 at MPEG-2 rates: 160).</summary>
    public int MaximumAt(int sampleRate) =>
        MaximumKbpsByRate is { } byRate && byRate.TryGetValue(sampleRate, out var maximum) ? maximum : MaximumKbps;
}

/// <summary>The output formats this cluster produces (key: 0); any silo answers from its own encoders.</summary>
public interface IAudioFormatCatalogGrain : IGrainWithIntegerKey
{
    /// <summary>Every format with what it accepts and produces, in the order of <see cref="AudioFormat"/>.</summary>
    Task<IReadOnlyList<AudioFormatInfo>> GetFormats();
}
