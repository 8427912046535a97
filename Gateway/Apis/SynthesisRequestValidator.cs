using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using MitTts.Gateway.Contracts;
using MitTts.Grains.Configuration;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Apis;

/// <summary>Turns a client's synthesis body into a <see cref="SynthesisRequest"/>, or the first error in it.</summary>
/// <remarks>Text is accepted as typed (quotes, apostrophes, accents, emoji); only control characters other than
/// newline, carriage return and tab, and broken UTF-16, are refused.</remarks>
public sealed partial class SynthesisRequestValidator(IGrainFactory grains, LiveSettings settings, VoiceCache voices, Security.AuthOptions auth)
{
    public const double MinimumFactor = 0.5;
    public const double MaximumFactor = 2.0;

    [GeneratedRegex(@"^[A-Za-z0-9_.:\-]{1,128}$", RegexOptions.CultureInvariant)]
    public static partial Regex SessionIdPattern();

    // Formats are fixed for a build: fetched from the cluster on first use and kept.
    private AudioFormatRules? _formats;

    private async ValueTask<AudioFormatRules> Formats() =>
        _formats ??= new AudioFormatRules(await grains.GetGrain<IAudioFormatCatalogGrain>(0).GetFormats());

    /// <summary>What <paramref name="format"/> accepts and produces (its Content-Type), or null when this build has no encoder for it.</summary>
    public async ValueTask<AudioFormatInfo?> FormatInfo(AudioFormat format) => (await Formats()).Find(format);

    /// <summary>The longest text one request may carry (<c>tts.max_text_length</c>, live).</summary>
    public int MaxTextLength => settings.Current.MaxTextLength;

    /// <summary>The engine whose voices read SSML.</summary>
    private const string EspeakEngineName = "espeak-ng";

    /// <summary>The request, or the first error in it; with <paramref name="caller"/>, also whether that caller may ask for its
    /// priority (<c>auth.user_max_priority</c>, <c>auth.premium_max_priority</c>), and a premium caller's default priority (HIGH).</summary>
    public async Task<(SynthesisRequest? Request, ApiError? Error)> Validate(SynthesizeBody body, Security.Caller? caller = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var error = ValidateText(body.Text, MaxTextLength);
        if (error is not null)
        {
            return (null, error);
        }

        var formats = TryParseFormat(body.Format, out var format) ? await Formats() : null;
        if (formats?.Find(format) is not { } formatInfo)
        {
            return (null, ApiError.BadRequest("unsupported_format", $"format must be one of: {string.Join(", ", FormatNames)}.", "format"));
        }

        if (formats.ValidateAudio(formatInfo, body.SampleRate, body.Bitrate) is { } audioError)
        {
            return (null, audioError);
        }

        if (!TryParsePriority(body.Priority, out var priority))
        {
            return (null, ApiError.BadRequest("invalid_priority", "priority must be one of: normal, high, critical.", "priority"));
        }

        // The seed's HIGH is for premium users' requests: theirs are HIGH unless they ask for another.
        if (body.Priority is null && auth.Enabled && caller is { IsPremium: true })
        {
            priority = Priority.High;
        }

        if (caller is { IsAdmin: false } && auth.Enabled && priority > auth.PriorityLimitFor(caller))
        {
            var (limit, role) = (auth.PriorityLimitFor(caller).ToString().ToLowerInvariant(), caller.IsPremium ? Security.Roles.Premium : Security.Roles.User);
            return (null, new ApiError(StatusCodes.Status403Forbidden, "priority_not_allowed",
                $"priority {priority.ToString().ToLowerInvariant()} is kept for admins here; a {role} may ask up to {limit}.", "priority"));
        }

        if (body.SessionId is { } sessionId && !SessionIdPattern().IsMatch(sessionId))
        {
            return (null, ApiError.BadRequest("invalid_session_id", "session_id must be 1 to 128 letters, digits or _ . : -", "session_id"));
        }

        // `is not (>= and <=)`, not `is < or >`: NaN (the string "NaN" reads as a number) is outside every range.
        var speed = body.Speed ?? 1.0;
        if (speed is not (>= MinimumFactor and <= MaximumFactor))
        {
            return (null, ApiError.BadRequest("speed_out_of_range", "speed must be between 0.5 and 2.0.", "speed"));
        }

        var pitch = body.Pitch ?? 1.0;
        if (pitch is not (>= MinimumFactor and <= MaximumFactor))
        {
            return (null, ApiError.BadRequest("pitch_out_of_range", "pitch must be between 0.5 and 2.0.", "pitch"));
        }

        // Spaces around a name are a typing slip, forgiven as for priority (" high ").
        var voiceId = body.VoiceId?.Trim();
        var language = body.Language?.Trim();
        if (language is not null && !VoiceLanguages.Pattern().IsMatch(language))
        {
            return (null, ApiError.BadRequest("invalid_language", "language must be a language tag such as es, en or pt-BR.", "language"));
        }

        if (voiceId is null && language is not null)
        {
            // A language and no voice: that language's voice (the default voice when it speaks it).
            if (VoiceLanguages.Choose(await voices.All(), language, settings.Current.DefaultVoice) is not { } spoken)
            {
                return (null, ApiError.BadRequest(
                    "language_not_supported", $"No available voice speaks '{language}': GET /api/v1/voices lists the voices and their languages.", "language"));
            }

            voiceId = spoken.Id;
        }

        voiceId ??= settings.Current.DefaultVoice;
        if (!Grains.Voices.VoiceCatalog.VoiceIdPattern().IsMatch(voiceId))
        {
            return (null, InvalidVoiceId());
        }

        var voice = await voices.Find(voiceId);
        if (voice is null)
        {
            return (null, VoiceNotFound(StatusCodes.Status400BadRequest, voiceId));
        }

        if (!voice.IsAvailable)
        {
            return (null, new ApiError(StatusCodes.Status503ServiceUnavailable, "voice_unavailable", $"Voice '{voiceId}' exists but its engine is not available on this server.", "voice_id"));
        }

        if (language is not null && VoiceLanguages.Fit(voice.Language, language) == 0)
        {
            return (null, ApiError.BadRequest("voice_language_mismatch", $"Voice '{voiceId}' speaks '{voice.Language}', not '{language}'.", "language"));
        }

        if (body.Ssml is true)
        {
            if (voice.Engine != EspeakEngineName)
            {
                return (null, ApiError.BadRequest("ssml_not_supported", $"Voice '{voiceId}' ({voice.Engine}) does not read SSML; espeak-ng voices do.", "ssml"));
            }

            if (SsmlRules.Check(body.Text!) is { } problem)
            {
                return (null, ApiError.BadRequest("invalid_ssml", "The SSML is refused: " + problem, "text"));
            }
        }

        return (new SynthesisRequest(body.Text!, voiceId, format, priority, body.SessionId, speed, pitch, body.SampleRate, body.Bitrate, Ssml: body.Ssml is true), null);
    }

    public static IReadOnlyList<string> FormatNames { get; } = [.. Enum.GetNames<AudioFormat>().Select(n => n.ToLowerInvariant())];

    public static bool TryParseFormat(string? value, out AudioFormat format)
    {
        format = AudioFormat.Wav;
        if (value is null)
        {
            return true;
        }

        // Only the names: Enum.TryParse would also take numbers ("1").
        foreach (var candidate in Enum.GetValues<AudioFormat>())
        {
            if (string.Equals(FormatName(candidate), value.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                format = candidate;
                return true;
            }
        }

        return false;
    }

    private static string FormatName(AudioFormat format) => format.ToString().ToLowerInvariant();

    /// <summary>A <c>voice_id</c> that is no voice id (400).</summary>
    public static ApiError InvalidVoiceId() =>
        ApiError.BadRequest("invalid_voice_id", "voice_id must look like es-female-1 (language-descriptor-number).", "voice_id");

    /// <summary>A well-formed <c>voice_id</c> the catalogue does not have: 400 in a request, 404 as a resource.</summary>
    public static ApiError VoiceNotFound(int status, string voiceId) =>
        new(status, "voice_not_found", $"No voice '{voiceId}': GET /api/v1/voices lists them.", "voice_id");

    /// <summary>A priority by name (any case, spaces around forgiven, no numbers); null is normal.</summary>
    public static bool TryParsePriority(string? value, out Priority priority)
    {
        priority = Priority.Normal;
        return value is null || (Enum.TryParse(value, ignoreCase: true, out priority) && Enum.IsDefined(priority) && !value.Any(char.IsDigit));
    }

    /// <summary>Text must hold 1..<paramref name="maxLength"/> characters (Unicode scalar values), not all blank, with no stray control characters.</summary>
    public static ApiError? ValidateText(string? text, int maxLength)
    {
        if (text is null)
        {
            return ApiError.BadRequest("text_required", "text is required.", "text");
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            return ApiError.BadRequest("text_empty", "text must contain at least one non-blank character.", "text");
        }

        var characters = 0;
        var visible = false;
        var span = text.AsSpan();
        while (!span.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(span, out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return ApiError.BadRequest("invalid_text", "text is not valid Unicode (unpaired surrogate).", "text");
            }

            if (Rune.IsControl(rune) && rune.Value is not ('\n' or '\r' or '\t'))
            {
                return ApiError.BadRequest(
                    "invalid_text",
                    string.Create(CultureInfo.InvariantCulture, $"text contains the control character U+{rune.Value:X4}; only newline, carriage return and tab are allowed."),
                    "text");
            }

            // Something to say: not blank, not only invisible formatting (zero-width spaces and joiners, a byte order mark).
            visible |= !Rune.IsWhiteSpace(rune) && Rune.GetUnicodeCategory(rune) != UnicodeCategory.Format;
            characters++;
            span = span[consumed..];
        }

        if (!visible)
        {
            return ApiError.BadRequest("text_empty", "text must contain at least one visible character (it is blank or only zero-width characters).", "text");
        }

        return characters > maxLength
            ? ApiError.BadRequest("text_too_long", string.Create(CultureInfo.InvariantCulture, $"text has {characters} characters; the limit is {maxLength}."), "text")
            : null;
    }
}
