namespace MitTts.Grains.Interfaces;

/// <summary>Scheduling priority of a synthesis task: CRITICAL before HIGH before NORMAL, FIFO within a level.</summary>
public enum Priority
{
    Normal = 0,
    High = 1,
    Critical = 2,
}

/// <summary>The audio container or encoding a client asked for.</summary>
public enum AudioFormat
{
    Wav = 0,
    Pcm = 1,
    Mp3 = 2,
    Ogg = 3,
    Mulaw = 4,
    Alaw = 5,
    Flac = 6,
    Aac = 7,
}

/// <summary>Where a synthesis task is in its lifecycle: queued → processing → completed | error | cancelled.</summary>
public enum SynthesisStatus
{
    Queued = 0,
    Processing = 1,
    Completed = 2,
    Error = 3,
    Cancelled = 4,
}
