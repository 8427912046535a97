using System.Collections.Frozen;
using System.Globalization;
using System.Xml;

namespace MitTts.Gateway.Apis;

/// <summary>What an SSML request (<c>"ssml": true</c>) may hold: a <c>&lt;speak&gt;</c> document of the elements espeak-ng reads, no DTD
/// or entities (so no external entity and no entity expansion), at most <see cref="MaxDepth"/> deep, pauses bounded; nothing that
/// fetches (no <c>&lt;audio&gt;</c>).</summary>
public static class SsmlRules
{
    public const int MaxDepth = 8;

    /// <summary>One <c>&lt;break&gt;</c> at most, and all of them together: silence is cheap to ask for and costly to make.</summary>
    public static readonly TimeSpan MaxBreak = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan MaxBreaks = TimeSpan.FromSeconds(30);

    private const string SsmlNamespace = "http://www.w3.org/2001/10/synthesis";

    private static readonly FrozenSet<string> s_elements =
        new[] { "speak", "p", "s", "break", "prosody", "emphasis", "say-as", "sub", "voice", "mark" }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly (string Attribute, FrozenSet<string> Words)[] s_prosodyWords =
    [
        ("rate", new[] { "x-slow", "slow", "medium", "fast", "x-fast", "default" }.ToFrozenSet(StringComparer.OrdinalIgnoreCase)),
        ("pitch", new[] { "x-low", "low", "medium", "high", "x-high", "default" }.ToFrozenSet(StringComparer.OrdinalIgnoreCase)),
        ("range", new[] { "x-low", "low", "medium", "high", "x-high", "default" }.ToFrozenSet(StringComparer.OrdinalIgnoreCase)),
        ("volume", new[] { "silent", "x-soft", "soft", "medium", "loud", "x-loud", "default" }.ToFrozenSet(StringComparer.OrdinalIgnoreCase)),
    ];

    private static readonly FrozenSet<string> s_emphasisLevels =
        new[] { "strong", "moderate", "none", "reduced" }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private static readonly XmlReaderSettings s_settings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        MaxCharactersFromEntities = 0,
        IgnoreComments = true,
        IgnoreWhitespace = false,
        CloseInput = true,
    };

    /// <summary>Null when <paramref name="ssml"/> is a document MitTts will speak; else the reason, for an <c>invalid_ssml</c> error.</summary>
    public static string? Check(string ssml)
    {
        ArgumentNullException.ThrowIfNull(ssml);
        if (ssml.Contains("<!DOCTYPE", StringComparison.OrdinalIgnoreCase))
        {
            // The parser refuses it too, but its message tells how to switch DTD processing on in .NET.
            return "a document type declaration (<!DOCTYPE>) is not allowed, nor entities other than XML's own (&lt; &gt; &amp; &quot; &apos;).";
        }

        var breaks = TimeSpan.Zero;
        var spoken = false;
        try
        {
            using var reader = XmlReader.Create(new StringReader(ssml), s_settings);
            while (reader.Read())
            {
                switch (reader.NodeType)
                {
                    case XmlNodeType.Element:
                        if (reader.Depth == 0 && reader.LocalName != "speak")
                        {
                            return "the document must be one <speak> element.";
                        }

                        if (!s_elements.Contains(reader.LocalName) || reader.NamespaceURI is not ("" or SsmlNamespace))
                        {
                            return $"<{reader.Name}> is not supported; use {string.Join(", ", s_elements.Order(StringComparer.Ordinal).Select(e => $"<{e}>"))}.";
                        }

                        if (reader.Depth >= MaxDepth)
                        {
                            return $"elements nest at most {MaxDepth} deep.";
                        }

                        if (reader.LocalName == "prosody" && BadProsody(reader) is { } prosody)
                        {
                            return prosody;
                        }

                        if (reader.LocalName == "emphasis" && reader.GetAttribute("level") is { } level && !s_emphasisLevels.Contains(level.Trim()))
                        {
                            // espeak-ng reads a level it does not know as silence for the words inside.
                            return $"<emphasis level=\"{level}\">: use strong, moderate, none or reduced.";
                        }

                        if (reader.LocalName == "break" && reader.GetAttribute("time") is { } time)
                        {
                            if (ParseTime(time) is not { } pause || pause > MaxBreak)
                            {
                                return $"<break time=\"{time}\">: a pause is a number of ms or s, at most {MaxBreak.TotalSeconds:0} s.";
                            }

                            breaks += pause;
                            if (breaks > MaxBreaks)
                            {
                                return $"the pauses add up to more than {MaxBreaks.TotalSeconds:0} s.";
                            }
                        }

                        break;
                    case XmlNodeType.CDATA:
                        // The document goes to the engine as written, and espeak-ng skips CDATA: its text would be silence.
                        return "CDATA sections are not supported: write the text as text, with < and & as &lt; and &amp;.";
                    case XmlNodeType.Text or XmlNodeType.SignificantWhitespace:
                        spoken |= !string.IsNullOrWhiteSpace(reader.Value);
                        break;
                    case XmlNodeType.ProcessingInstruction:
                        return "processing instructions are not allowed.";
                }
            }
        }
        catch (XmlException e)
        {
            // The parser's message names the line and position; DTDs and entities land here too.
            return e.Message;
        }

        return spoken ? null : "the document has no text to speak.";
    }

    /// <summary>A <c>&lt;prosody&gt;</c> attribute the engine would ignore (<c>rate="zoom"</c>): each is one of SSML's words for it,
    /// or a number, signed or not, in %, Hz, st or dB.</summary>
    private static string? BadProsody(XmlReader reader)
    {
        foreach (var (name, words) in s_prosodyWords)
        {
            if (reader.GetAttribute(name) is { } value && !words.Contains(value.Trim()) && !IsProsodyNumber(value.Trim()))
            {
                return $"<prosody {name}=\"{value}\">: use {string.Join(", ", words.Order(StringComparer.Ordinal))}, or a number such as +10%, 80% or -2st.";
            }
        }

        return null;
    }

    private static bool IsProsodyNumber(string value)
    {
        var number = value;
        foreach (var unit in (ReadOnlySpan<string>)["%", "hz", "st", "db"])
        {
            if (number.EndsWith(unit, StringComparison.OrdinalIgnoreCase))
            {
                number = number[..^unit.Length];
                break;
            }
        }

        return number.Length > 0 && double.TryParse(number, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
            && double.IsFinite(amount);
    }

    private static TimeSpan? ParseTime(string value)
    {
        var text = value.Trim();
        var (number, scale) = text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) ? (text[..^2], 1.0)
            : text.EndsWith('s') || text.EndsWith('S') ? (text[..^1], 1000.0)
            : (null, 0);
        return number is not null && double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
            ? TimeSpan.FromMilliseconds(amount * scale)
            : null;
    }
}
