using System.Text.Json;
using System.Text.Json.Serialization;

namespace MitTts.Gateway.WebSockets;

/// <summary>The protocol's JSON, generated at build time: snake_case, null fields left out, numbers also read from strings (web defaults).</summary>
/// <remarks>Clients put <c>type</c> anywhere in a message, so the discriminator may come after other fields.</remarks>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    AllowOutOfOrderMetadataProperties = true)]
[JsonSerializable(typeof(ClientMessage))]
[JsonSerializable(typeof(ConnectedMessage))]
[JsonSerializable(typeof(StatusMessage))]
[JsonSerializable(typeof(TimestampsMessage))]
[JsonSerializable(typeof(AudioMessage))]
[JsonSerializable(typeof(ContextEndMessage))]
[JsonSerializable(typeof(InterruptedMessage))]
[JsonSerializable(typeof(ErrorMessage))]
[JsonSerializable(typeof(PongMessage))]
public sealed partial class ProtocolJsonContext : JsonSerializerContext;
