using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MitTts.Gateway.Wyoming;

/// <summary>One Wyoming event: a JSON header line (<c>type</c>, <c>version</c>, and <c>data_length</c>/<c>payload_length</c> when they
/// follow), then that many bytes of JSON data and of binary payload (rhasspy/wyoming, <c>event.py</c>).</summary>
public sealed record WyomingEvent(string Type, JsonObject Data, ReadOnlyMemory<byte> Payload = default)
{
    public const string ProtocolVersion = "1.7.0";

    /// <summary>Longest header line or data block read: an event is small; anything larger is not Wyoming.</summary>
    public const int MaxJsonBytes = 1024 * 1024;

    /// <summary>Reads the next event; null at the end of the stream. Throws <see cref="InvalidDataException"/> on anything malformed.</summary>
    public static async Task<WyomingEvent?> Read(Stream stream, CancellationToken cancellationToken)
    {
        var line = await ReadLine(stream, cancellationToken);
        if (line is null)
        {
            return null;
        }

        JsonObject header;
        try
        {
            header = JsonNode.Parse(line) as JsonObject ?? throw new InvalidDataException("The header line is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException("The header line is not JSON: " + e.Message, e);
        }

        if (header["type"] is not JsonValue typeValue || !typeValue.TryGetValue<string>(out var type) || type.Length == 0)
        {
            throw new InvalidDataException("The header has no type.");
        }

        var data = header["data"] as JsonObject ?? [];
        header.Remove("data");
        if (Length(header, "data_length") is > 0 and var dataLength)
        {
            var bytes = await ReadExactly(stream, dataLength, MaxJsonBytes, cancellationToken);
            try
            {
                foreach (var (key, value) in JsonNode.Parse(bytes.Span) as JsonObject ?? throw new InvalidDataException("The data block is not a JSON object."))
                {
                    data[key] = value?.DeepClone();
                }
            }
            catch (JsonException e)
            {
                throw new InvalidDataException("The data block is not JSON: " + e.Message, e);
            }
        }

        var payload = Length(header, "payload_length") is > 0 and var payloadLength
            ? await ReadExactly(stream, payloadLength, 16 * 1024 * 1024, cancellationToken)
            : ReadOnlyMemory<byte>.Empty;
        return new WyomingEvent(type, data, payload);
    }

    /// <summary>Writes the event: header line, data block, payload.</summary>
    public async Task Write(Stream stream, CancellationToken cancellationToken)
    {
        var dataBytes = Data.Count > 0 ? Encoding.UTF8.GetBytes(Data.ToJsonString()) : [];
        var header = new JsonObject { ["type"] = Type, ["version"] = ProtocolVersion };
        if (dataBytes.Length > 0)
        {
            header["data_length"] = dataBytes.Length;
        }

        if (!Payload.IsEmpty)
        {
            header["payload_length"] = Payload.Length;
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(header.ToJsonString() + "\n"), cancellationToken);
        if (dataBytes.Length > 0)
        {
            await stream.WriteAsync(dataBytes, cancellationToken);
        }

        if (!Payload.IsEmpty)
        {
            await stream.WriteAsync(Payload, cancellationToken);
        }
    }

    /// <summary>The data block of <c>audio-chunk</c> events of one stream (the same for every chunk), to serialize once.</summary>
    public static byte[] ChunkData(JsonObject format) => Encoding.UTF8.GetBytes(format.ToJsonString());

    /// <summary>Writes one <c>audio-chunk</c>: the header formatted into a pooled buffer, the stream's data block, the audio. Nothing is
    /// allocated per chunk.</summary>
    public static async Task WriteChunk(Stream stream, byte[] data, ReadOnlyMemory<byte> audio, CancellationToken cancellationToken)
    {
        var header = ArrayPool<byte>.Shared.Rent(160);
        try
        {
            if (!System.Text.Unicode.Utf8.TryWrite(header, System.Globalization.CultureInfo.InvariantCulture,
                    $"{{\"type\":\"audio-chunk\",\"version\":\"{ProtocolVersion}\",\"data_length\":{data.Length},\"payload_length\":{audio.Length}}}\n", out var written))
            {
                throw new InvalidOperationException("An audio-chunk header did not fit its buffer.");
            }

            await stream.WriteAsync(header.AsMemory(0, written), cancellationToken);
            await stream.WriteAsync(data, cancellationToken);
            await stream.WriteAsync(audio, cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(header);
        }
    }

    private static int? Length(JsonObject header, string name)
    {
        if (header[name] is null)
        {
            return null;
        }

        return header[name] is JsonValue value && value.TryGetValue<long>(out var length) && length is >= 0 and <= int.MaxValue
            ? (int)length
            : throw new InvalidDataException($"{name} must be a non-negative integer.");
    }

    private static async Task<byte[]?> ReadLine(Stream stream, CancellationToken cancellationToken)
    {
        var line = new ArrayBufferWriter<byte>(256);
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one, cancellationToken) == 0)
            {
                return line.WrittenCount == 0 ? null : throw new InvalidDataException("The stream ended inside a header line.");
            }

            if (one[0] == (byte)'\n')
            {
                return line.WrittenSpan.ToArray();
            }

            if (line.WrittenCount >= MaxJsonBytes)
            {
                throw new InvalidDataException("The header line is too long.");
            }

            line.Write(one);
        }
    }

    private static async Task<ReadOnlyMemory<byte>> ReadExactly(Stream stream, int length, int limit, CancellationToken cancellationToken)
    {
        if (length > limit)
        {
            throw new InvalidDataException($"A block of {length} bytes is larger than {limit}.");
        }

        var bytes = new byte[length];
        await stream.ReadExactlyAsync(bytes, cancellationToken);
        return bytes;
    }
}
