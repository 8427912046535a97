using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MitTts.Gateway.Contracts;

/// <summary>Times in answers as ISO 8601 in UTC with exactly six decimals and <c>+00:00</c>: <c>2026-12-03T09:33:21.304207+00:00</c>.</summary>
/// <remarks>The default writes up to seven decimals and drops trailing zeros, so the count varies from one time to the next; Python's
/// <c>datetime.fromisoformat</c> before 3.11 reads only three or six, and neither a <c>Z</c>, which is why the offset is written out.</remarks>
public sealed class IsoTimestampConverter : JsonConverter<DateTimeOffset>
{
    private const string Format = "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'+00:00'";

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDateTimeOffset();

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<char> text = stackalloc char[32];
        value.UtcDateTime.TryFormat(text, out var written, Format, CultureInfo.InvariantCulture);
        writer.WriteStringValue(text[..written]);
    }
}
