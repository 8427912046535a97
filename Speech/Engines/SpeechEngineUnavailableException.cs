namespace MitTts.Speech.Engines;

/// <summary>The engine cannot run on this machine (its native library or data is missing).</summary>
public sealed class SpeechEngineUnavailableException : Exception
{
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
