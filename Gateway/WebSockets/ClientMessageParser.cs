using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace MitTts.Gateway.WebSockets;

/// <summary>A client message, and the <c>request_id</c> (when it is a string) to echo on any error about it.</summary>
public readonly record struct ReceivedMessage(ClientMessage Message, string? RequestId);

/// <summary>Reads a client's JSON text frame into its <see cref="ClientMessage"/> record, or into the error that answers it.</summary>
public static class ClientMessageParser
{
    private const string Types = "connect, synthesize, text, flush, end, interrupt or ping";

    // The discriminators declared on ClientMessage: one list, read from the same attributes the deserializer uses.
    private static readonly FrozenSet<string> KnownTypes = ReadKnownTypes();

    /// <summary>Parses one message; <paramref name="error"/> (codes <c>invalid_json</c>, <c>missing_type</c>,
    /// <c>unknown_message_type</c>) when it is not one the protocol knows.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out ReceivedMessage received, [NotNullWhen(false)] out ErrorMessage? error)
    {
        // The type and request_id are read first, so a refusal echoes the request_id and tells a missing type from an unknown one;
        // then the deserializer picks the record by the same type.
        received = default;
        string? type;
        string? requestId;
        try
        {
            (type, requestId) = PeekTypeAndRequestId(utf8);
        }
        catch (JsonException)
        {
            error = new ErrorMessage("invalid_json", "Messages must be JSON objects with a \"type\".", null);
            return false;
        }

        if (type is null)
        {
            error = new ErrorMessage("missing_type", $"Every message needs a \"type\": {Types}.", requestId, "type");
            return false;
        }

        if (!KnownTypes.Contains(type))
        {
            error = new ErrorMessage("unknown_message_type", $"Unknown message type '{type}': use {Types}.", requestId, "type");
            return false;
        }

        try
        {
            var message = JsonSerializer.Deserialize(utf8, ProtocolJsonContext.Default.ClientMessage) ?? throw new JsonException("null");
            received = new ReceivedMessage(message, requestId);
            error = null;
            return true;
        }
        catch (JsonException e)
        {
            // The path is "$.field" for a field of the wrong type, "$" (or none) when the text is broken.
            var field = e.Path is { Length: > 2 } path ? path[2..] : null;
            error = new ErrorMessage("invalid_json", field is null ? "The message is not valid JSON." : $"Field '{field}' has the wrong type.", requestId, field);
            return false;
        }
    }

    /// <summary>The <c>type</c> and <c>request_id</c> wherever they are in the object (string values only).
    /// Reading to the object's end proves it well-formed; throws when the text does not start with a well-formed object.</summary>
    private static (string? Type, string? RequestId) PeekTypeAndRequestId(ReadOnlySpan<byte> message)
    {
        var reader = new Utf8JsonReader(message);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("not an object");
        }

        string? type = null;
        string? requestId = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            var isType = reader.ValueTextEquals("type"u8);
            var isRequestId = reader.ValueTextEquals("request_id"u8);
            reader.Read();
            if (isType && reader.TokenType == JsonTokenType.String)
            {
                type = reader.GetString();
            }
            else if (isRequestId && reader.TokenType == JsonTokenType.String)
            {
                requestId = reader.GetString();
            }
            else
            {
                reader.Skip();
            }
        }

        return (type, requestId);
    }

    private static FrozenSet<string> ReadKnownTypes()
    {
        var types = new List<string>();
        foreach (var derived in ProtocolJsonContext.Default.ClientMessage.PolymorphismOptions!.DerivedTypes)
        {
            types.Add((string)derived.TypeDiscriminator!);
        }

        return types.ToFrozenSet(StringComparer.Ordinal);
    }
}
