using System.Globalization;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Apis;

/// <summary>Checks a request's sample rate and bitrate against what each format's encoder says it accepts
/// (<see cref="IAudioFormatCatalogGrain"/>); no format is named here.</summary>
public sealed class AudioFormatRules
{
    private readonly Dictionary<AudioFormat, AudioFormatInfo> _byFormat = [];
    private readonly string _allRates;
    private readonly HashSet<int> _anyRate = [];
    private readonly string _formatsWithBitrate;

    public AudioFormatRules(IReadOnlyList<AudioFormatInfo> formats)
    {
        ArgumentNullException.ThrowIfNull(formats);
        var withBitrate = new List<string>();
        foreach (var format in formats)
        {
            _byFormat[format.Format] = format;
            _anyRate.UnionWith(format.SampleRates);
            if (format.Bitrates is not null)
            {
                withBitrate.Add(format.Name);
            }
        }

        var rates = _anyRate.ToList();
        rates.Sort();
        _allRates = string.Join(", ", rates);
        _formatsWithBitrate = withBitrate.Count <= 1
            ? string.Concat(withBitrate)
            : $"{string.Join(", ", withBitrate[..^1])} and {withBitrate[^1]}";
    }

    /// <summary>What the format accepts, or null when this build has no encoder for it.</summary>
    public AudioFormatInfo? Find(AudioFormat format) => _byFormat.GetValueOrDefault(format);

    /// <summary>The sample rate must be one some format takes and one this format takes (G.711: 8000 only); a bitrate must
    /// be one the format takes, and only formats with a bitrate take one.</summary>
    public ApiError? ValidateAudio(AudioFormatInfo format, int? sampleRate, int? bitrate)
    {
        ArgumentNullException.ThrowIfNull(format);
        if (sampleRate is { } rate)
        {
            if (!_anyRate.Contains(rate))
            {
                return ApiError.BadRequest("invalid_sample_rate", $"sample_rate must be one of: {_allRates}.", "sample_rate");
            }

            if (!format.AcceptsSampleRate(rate))
            {
                return ApiError.BadRequest(
                    "invalid_sample_rate",
                    format.RequiredSampleRate is { } required
                        ? string.Create(CultureInfo.InvariantCulture, $"{format.Name} is {format.Description}: sample_rate must be {required}.")
                        : $"sample_rate for {format.Name} must be one of: {string.Join(", ", format.SampleRates)}.",
                    "sample_rate");
            }
        }

        if (bitrate is { } kbps && format.Bitrates?.Accepts(kbps) != true)
        {
            return ApiError.BadRequest(
                "invalid_bitrate",
                format.Bitrates switch
                {
                    null => $"bitrate applies to {_formatsWithBitrate} only, not {format.Name}.",
                    { AllowedKbps.Count: > 0 } b => $"bitrate (kbps) for {format.Name} must be one of: {string.Join(", ", b.AllowedKbps)}.",
                    { } b => string.Create(CultureInfo.InvariantCulture, $"bitrate (kbps) for {format.Name} must be between {b.MinimumKbps} and {b.MaximumKbps}."),
                },
                "bitrate");
        }

        if (bitrate is { } asked && sampleRate is { } at && format.Bitrates is { } carried && carried.MaximumAt(at) < asked)
        {
            return ApiError.BadRequest(
                "invalid_bitrate",
                string.Create(CultureInfo.InvariantCulture,
                    $"{format.Name} at {at} Hz carries at most {carried.MaximumAt(at)} kbps: ask for less, or for a higher sample_rate (or none, and the server picks one that carries {asked})."),
                "bitrate");
        }

        return null;
    }
}
