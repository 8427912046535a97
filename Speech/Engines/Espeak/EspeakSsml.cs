using System.Globalization;
using System.Xml.Linq;

namespace MitTts.Speech.Engines.Espeak;

/// <summary>An SSML document as espeak-ng reads it: values it would misread are rewritten to the form it takes.</summary>
/// <remarks>espeak-ng reads a pause's time as a whole number, so <c>1.5s</c> was no pause at all: every <c>&lt;break time&gt;</c>
/// goes as whole milliseconds. The document was checked by the gateway (no DTD, bounded pauses) before it got here.</remarks>
public static class EspeakSsml
{
    public static string Prepare(string ssml)
    {
        ArgumentNullException.ThrowIfNull(ssml);
        if (!ssml.Contains("time", StringComparison.Ordinal))
        {
            return ssml;
        }

        var document = XDocument.Parse(ssml, LoadOptions.PreserveWhitespace);
        var changed = false;
        foreach (var pause in document.Descendants())
        {
            if (pause.Name.LocalName == "break" && pause.Attribute("time") is { } time && Milliseconds(time.Value) is { } ms)
            {
                time.Value = ms.ToString(CultureInfo.InvariantCulture) + "ms";
                changed = true;
            }
        }

        return changed ? document.ToString(SaveOptions.DisableFormatting) : ssml;
    }

    private static long? Milliseconds(string value)
    {
        var text = value.Trim();
        var (number, scale) = text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) ? (text[..^2], 1.0)
            : text.EndsWith('s') || text.EndsWith('S') ? (text[..^1], 1000.0)
            : (null, 0);
        return number is not null && double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
            ? (long)Math.Round(amount * scale)
            : null;
    }
}
