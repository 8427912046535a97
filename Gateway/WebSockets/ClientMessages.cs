using System.Text.Json.Serialization;

namespace MitTts.Gateway.WebSockets;

// Client → server. Every message is a JSON text frame with a "type", anywhere in the object; unknown fields are ignored.

/// <summary>A message from the client; <c>type</c> says which record it is (<see cref="ClientMessageParser"/> reads it).</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(ConnectMessage), "connect")]
[JsonDerivedType(typeof(SynthesizeMessage), "synthesize")]
[JsonDerivedType(typeof(TextMessage), "text")]
[JsonDerivedType(typeof(FlushMessage), "flush")]
[JsonDerivedType(typeof(EndMessage), "end")]
[JsonDerivedType(typeof(InterruptMessage), "interrupt")]
[JsonDerivedType(typeof(PingMessage), "ping")]
public abstract record ClientMessage;

/// <summary><c>connect</c>: opens (or resumes) a session; optional, a first <c>synthesize</c> opens a new session by itself.</summary>
public sealed record ConnectMessage(string? SessionId, string? AuthToken, bool? Binary, long? LastSequence, bool? FrameSequence = null) : ClientMessage;

/// <summary><c>synthesize</c>: the seed's synthesis request; <c>priority</c> defaults to high on a socket.</summary>
public sealed record SynthesizeMessage(
    string? Text,
    string? VoiceId,
    string? Format,
    string? Priority,
    bool? Stream,
    string? RequestId,
    bool? Timestamps,
    double? Speed,
    double? Pitch,
    int? SampleRate,
    int? Bitrate,
    bool? Store = null,
    bool? Ssml = null,
    string? Language = null) : ClientMessage;

/// <summary><c>text</c>: appends streamed text to a context; the first message of a context sets its voice and format.</summary>
public sealed record TextMessage(
    string? ContextId,
    string? Text,
    string? VoiceId,
    string? Format,
    string? Priority,
    string? RequestId,
    bool? Timestamps,
    double? Speed,
    double? Pitch,
    int? SampleRate,
    int? Bitrate,
    bool? Store = null,
    bool? Ssml = null,
    string? Language = null) : ClientMessage;

/// <summary><c>flush</c>: speaks what the context holds now, sentence complete or not.</summary>
public sealed record FlushMessage(string? ContextId) : ClientMessage;

/// <summary><c>end</c>: flushes and closes the context; <c>context_end</c> follows its last task's audio.</summary>
public sealed record EndMessage(string? ContextId) : ClientMessage;

/// <summary><c>interrupt</c>: barge-in; stops one task, one context, or everything of the session.</summary>
public sealed record InterruptMessage(string? Reason, string? TaskId, string? ContextId) : ClientMessage;

/// <summary><c>ping</c>: answered with <c>pong</c> and the last sequence sent.</summary>
public sealed record PingMessage : ClientMessage;
