namespace MitTts.Grains.Interfaces;

/// <summary>A voice of the catalogue: id (<c>es-female-1</c>), language, gender, name and the engine that speaks it.</summary>
[GenerateSerializer, Immutable]
public sealed record VoiceInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string Language,
    [property: Id(2)] string Gender,
    [property: Id(3)] string Name,
    [property: Id(4)] string Description,
    [property: Id(5)] string Engine,
    [property: Id(6)] string EngineVoice,
    [property: Id(7)] int SampleRate,
    [property: Id(8)] bool IsAvailable);

/// <summary>A model file that gives no usable voice, and why (the reason names the file and what is wrong).</summary>
[GenerateSerializer, Immutable]
public sealed record ModelProblem([property: Id(0)] string Path, [property: Id(1)] string Reason);
