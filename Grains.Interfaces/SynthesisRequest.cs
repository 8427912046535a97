namespace MitTts.Grains.Interfaces;

/// <summary>A validated request to turn text into speech.</summary>
[GenerateSerializer, Immutable]
public sealed record SynthesisRequest(
    [property: Id(0)] string Text,
    [property: Id(1)] string VoiceId,
    [property: Id(2)] AudioFormat Format,
    [property: Id(3)] Priority Priority,
    [property: Id(4)] string? SessionId,
    [property: Id(5)] double Speed,
    [property: Id(6)] double Pitch);
