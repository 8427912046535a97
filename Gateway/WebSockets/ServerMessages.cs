using System.Text.Json.Serialization;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.WebSockets;

// Server → client: JSON text frames, "type" first; audio goes as binary frames (WebSocketOutbox.WriteFrameHeader) unless the client asked for JSON.

/// <summary>The answer to <c>connect</c>: the session id to reconnect with, and where its audio resumes.</summary>
public sealed record ConnectedMessage(string SessionId, bool Resumed, long LastSequence, bool Binary, bool FrameSequence)
{
    [JsonPropertyOrder(-1)]
    public string Type => "connected";
}

/// <summary>The seed's <c>status</c>: <c>queued</c> when accepted, <c>processing</c> right before a task's first audio frame,
/// then <c>completed</c>, <c>error</c> or <c>cancelled</c> right after its last.</summary>
public sealed record StatusMessage(
    string TaskId,
    string Status,
    double Progress,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] ErrorBody? Error,
    string? RequestId,
    string? ContextId,
    long? Sequence,
    int? QueuePosition = null,
    int? DurationMs = null)
{
    /// <summary>For a <c>busy</c> error: seconds to wait before sending the task again.</summary>
    public double? RetryAfter { get; init; }

    [JsonPropertyOrder(-1)]
    public string Type => "status";
}

/// <summary>The words of a task's audio so far, with their times from the task's first sample.</summary>
public sealed record TimestampsMessage(string TaskId, IReadOnlyList<WordTiming> Words, string? RequestId, string? ContextId, long Sequence)
{
    [JsonPropertyOrder(-1)]
    public string Type => "timestamps";
}

/// <summary>Audio in JSON mode (<c>"binary": false</c>): base64 bytes of the task's stream.</summary>
public sealed record AudioMessage(string TaskId, string Data, string? RequestId, string? ContextId, long Sequence, double Progress)
{
    [JsonPropertyOrder(-1)]
    public string Type => "audio";
}

/// <summary>A text context ended: every task it started has ended on the socket.</summary>
public sealed record ContextEndMessage(string ContextId, string? RequestId, long Sequence)
{
    [JsonPropertyOrder(-1)]
    public string Type => "context_end";
}

/// <summary>The acknowledgement of <c>interrupt</c>: no audio of these tasks follows it.</summary>
public sealed record InterruptedMessage(IReadOnlyList<string> TaskIds, string? Reason, string? ContextId, long LastSequence)
{
    [JsonPropertyOrder(-1)]
    public string Type => "interrupted";
}

/// <summary>An error the client can act on; the socket stays open. <see cref="ContextId"/> names the text context a <c>text</c>,
/// <c>flush</c> or <c>end</c> was about, for a client with several open.</summary>
public sealed record ErrorMessage(string Code, string Message, string? RequestId, string? Field = null, double? RetryAfter = null, string? ContextId = null)
{
    [JsonPropertyOrder(-1)]
    public string Type => "error";
}

/// <summary>The answer to <c>ping</c>.</summary>
public sealed record PongMessage(long LastSequence)
{
    [JsonPropertyOrder(-1)]
    public string Type => "pong";
}

/// <summary>A task error inside a status message.</summary>
public sealed record ErrorBody(string Code, string Message);
