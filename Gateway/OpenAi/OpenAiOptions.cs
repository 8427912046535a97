namespace MitTts.Gateway.OpenAi;

/// <summary>The <c>openai</c> configuration section: which MitTts voice speaks for each OpenAI voice name
/// (<c>openai:voices:alloy=en-female-1</c>).</summary>
public sealed class OpenAiOptions
{
    public const string Section = "openai";

    /// <summary>OpenAI's voice names, in its order.</summary>
    public static IReadOnlyList<string> OpenAiVoiceNames { get; } = ["alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse"];

    /// <summary>OpenAI voice name to MitTts voice id. The defaults are the English espeak-ng voices, by the voices' character:
    /// female (US), male (US), male (British).</summary>
    public Dictionary<string, string> Voices { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["alloy"] = "en-female-1",
        ["ash"] = "en-male-1",
        ["ballad"] = "en-male-2",
        ["coral"] = "en-female-1",
        ["echo"] = "en-male-1",
        ["fable"] = "en-male-2",
        ["nova"] = "en-female-1",
        ["onyx"] = "en-male-1",
        ["sage"] = "en-female-1",
        ["shimmer"] = "en-female-1",
        ["verse"] = "en-male-2",
    };

    /// <summary>The MitTts voice for <paramref name="voice"/>: the configured one for an OpenAI name, else the name itself (a MitTts id).</summary>
    public string Resolve(string voice) => Voices.TryGetValue(voice, out var mapped) ? mapped : voice;
}
