namespace MitTts.Speech.Engines;

/// <summary>The engine cannot run on this machine (its native library or data is missing).</summary>
public sealed class SpeechEngineUnavailableException : Exception
{
    /// <summary>The stable error code a client sees for this refusal.</summary>
    public const string Code = "engine_unavailable";

    public SpeechEngineUnavailableException()
    {
    }

    public SpeechEngineUnavailableException(string message)
        : base(message)
    {
    }

    public SpeechEngineUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
