using System.Text.RegularExpressions;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Apis;

/// <summary>Which voice speaks a language a client names (<c>es</c>, <c>en-US</c>, <c>pt_BR</c>, any case): the voice whose language is
/// the same tag first, then one of a region of it (asked <c>en</c>, voice <c>en-US</c>), then the language a region belongs to (asked
/// <c>en-GB</c>, voice <c>en</c>); among equals, the configured default voice, else the first by id.</summary>
public static partial class VoiceLanguages
{
    [GeneratedRegex(@"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$", RegexOptions.CultureInvariant)]
    public static partial Regex Pattern();

    /// <summary>How well a voice of <paramref name="voiceLanguage"/> answers <paramref name="asked"/>: 3 the same tag, 2 a region of it,
    /// 1 the language the asked region belongs to, 0 another language.</summary>
    public static int Fit(string voiceLanguage, string asked)
    {
        ArgumentNullException.ThrowIfNull(voiceLanguage);
        ArgumentNullException.ThrowIfNull(asked);
        if (SameTag(voiceLanguage, asked))
        {
            return 3;
        }

        if (IsRegionOf(voiceLanguage, asked))
        {
            return 2;
        }

        return IsRegionOf(asked, voiceLanguage) ? 1 : 0;
    }

    /// <summary><paramref name="tag"/> is <paramref name="language"/> followed by a subtag (<c>en-US</c> of <c>en</c>).</summary>
    private static bool IsRegionOf(string tag, string language) =>
        tag.Length > language.Length && tag[language.Length] is '-' or '_' && SameTag(tag.AsSpan(0, language.Length), language);

    /// <summary>The same tag in any case, <c>_</c> and <c>-</c> alike; compared in place (this runs for every voice of a request).</summary>
    private static bool SameTag(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }

        for (var i = 0; i < a.Length; i++)
        {
            var x = a[i] == '_' ? '-' : char.ToLowerInvariant(a[i]);
            var y = b[i] == '_' ? '-' : char.ToLowerInvariant(b[i]);
            if (x != y)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The available voice that best speaks <paramref name="asked"/>, or null when none does.</summary>
    public static VoiceInfo? Choose(IReadOnlyList<VoiceInfo> voices, string asked, string? defaultVoice)
    {
        ArgumentNullException.ThrowIfNull(voices);
        VoiceInfo? best = null;
        var bestFit = 0;
        foreach (var voice in voices)
        {
            if (!voice.IsAvailable)
            {
                continue;
            }

            var fit = Fit(voice.Language, asked);
            if (fit > bestFit || (fit > 0 && fit == bestFit && voice.Id == defaultVoice))
            {
                best = voice;
                bestFit = fit;
            }
        }

        return best;
    }
}
