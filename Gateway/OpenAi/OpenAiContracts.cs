using System.Text.Json.Serialization;

namespace MitTts.Gateway.OpenAi;

/// <summary>The body of <c>POST /v1/audio/speech</c>, as OpenAI documents it.</summary>
/// <remarks>Every field is nullable so that validation, not the JSON reader, names what is missing.</remarks>
public sealed class OpenAiSpeechBody
{
    /// <summary><c>tts-1</c>, <c>tts-1-hd</c>, <c>gpt-4o-mini-tts</c> or <c>mittts</c> (GET /v1/models): all speak with the voice's own engine.</summary>
    public string? Model { get; init; }

    /// <summary>The text to speak.</summary>
    public string? Input { get; init; }

    /// <summary>An OpenAI voice name (alloy, ash, …, mapped by <c>openai:voices</c>) or a MitTts voice id.</summary>
    public string? Voice { get; init; }

    /// <summary><c>mp3</c> (default), <c>opus</c> (Ogg/Opus), <c>wav</c>, <c>pcm</c> (s16le, 24 kHz), <c>flac</c>, <c>aac</c> (AAC-LC in ADTS).</summary>
    public string? ResponseFormat { get; init; }

    /// <summary>0.5..2.0 here (OpenAI allows 0.25..4.0), default 1.0.</summary>
    public double? Speed { get; init; }

    /// <summary>Accepted for compatibility; the engines here take no style instructions.</summary>
    public string? Instructions { get; init; }

    /// <summary><c>audio</c> (default): the audio bytes, streamed as they are made; <c>sse</c>: server-sent events with base64 audio.</summary>
    public string? StreamFormat { get; init; }
}

/// <summary>OpenAI's list envelope.</summary>
public sealed record OpenAiList<T>(IReadOnlyList<T> Data)
{
    [JsonPropertyName("object")]
    public string Kind => "list";
}

/// <summary>A model of <c>GET /v1/models</c>.</summary>
public sealed record OpenAiModel(string Id, long Created, string OwnedBy)
{
    [JsonPropertyName("object")]
    public string Kind => "model";
}

/// <summary>A voice of <c>GET /v1/audio/voices</c>: an OpenAI name or a MitTts voice id, and the MitTts voice that speaks it.</summary>
public sealed record OpenAiVoice(string Id, string Name, string MitttsVoice, string? Language, string? Gender, bool IsAvailable)
{
    [JsonPropertyName("object")]
    public string Kind => "voice";
}

/// <summary>The event that ends an event stream whose synthesis failed after its first audio.</summary>
public sealed record OpenAiErrorEvent(OpenAiErrorDetail Error)
{
    public string Type => "error";
}
