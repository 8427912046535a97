namespace MitTts.Speech.Engines;

/// <summary>A text-to-speech engine: turns one piece of text into 16-bit mono PCM at <see cref="SampleRate"/>.</summary>
public interface ISpeechEngine
{
    /// <summary>The engine's stable name, as used in the voice catalogue (<c>espeak-ng</c>).</summary>
    string Name { get; }

    /// <summary>The rate of the PCM the engine produces, in Hz.</summary>
    int SampleRate { get; }

    /// <summary>Whether the engine applies <see cref="SpeechRequest.Speed"/> and <see cref="SpeechRequest.Pitch"/> itself;
    /// when false, it is given 1.0 for both and the audio pipeline changes speed and pitch afterwards.</summary>
    bool AppliesSpeedAndPitch { get; }

    /// <summary>Whether the engine applies <see cref="SpeechRequest.Speed"/> itself (true whenever <see cref="AppliesSpeedAndPitch"/> is);
    /// a neural voice does (Piper's <c>length_scale</c>, Kokoro's <c>speed</c>) while its pitch is left to the audio pipeline.</summary>
    bool AppliesSpeed { get; }

    /// <summary>The part of a pitch factor the engine applies itself when <see cref="AppliesSpeedAndPitch"/>: all of it, or (an engine
    /// whose scale ends short of the 0.5..2.0 a request may ask) as much as it reaches; the audio pipeline applies the rest,
    /// <c>pitch / NativePitch(pitch)</c>. 1.0 for an engine that leaves pitch to the pipeline.</summary>
    double NativePitch(double pitch) => AppliesSpeedAndPitch ? pitch : 1.0;

    /// <summary>Whether the word times the engine reports (<see cref="IWordSink"/>) are estimates rather than the engine's own events:
    /// a neural model gives none, so they are placed by phoneme positions.</summary>
    bool WordTimesEstimated => false;

    /// <summary>Whether <see cref="SynthesizeAsync"/> only queues the request for the engine's own thread, which speaks requests one at a
    /// time in the order they were made: the call returns at once, and a caller may queue its next request before the last one ends.</summary>
    /// <remarks>When false, the call may compute on the caller's thread, and two calls may run at the same time.</remarks>
    bool RunsInOrder => false;

    /// <summary>Synthesizes <paramref name="request"/>, handing PCM to <paramref name="sink"/> as it is produced.</summary>
    /// <remarks>The sink is called on the engine's own thread; it must copy what it keeps and return quickly.
    /// Cancellation stops the engine within one engine buffer and ends the call with <see cref="OperationCanceledException"/>.</remarks>
    Task SynthesizeAsync(SpeechRequest request, IPcmSink sink, CancellationToken cancellationToken = default);
}

/// <summary>What to say and how: the engine's own voice name, and speed and pitch factors (1.0 = the voice's default).</summary>
public sealed record SpeechRequest(string Text, string EngineVoice, double Speed = 1.0, double Pitch = 1.0, bool Ssml = false);

/// <summary>Receives PCM from an engine as it is produced.</summary>
public interface IPcmSink
{
    /// <summary>Called with each buffer of 16-bit mono samples, in order.</summary>
    void Write(ReadOnlySpan<short> samples);
}

/// <summary>Receives word boundaries from an engine that reports them; an engine checks whether its PCM sink also implements this.</summary>
public interface IWordSink
{
    /// <summary>The word at <paramref name="textOffset"/> (UTF-16 index into <see cref="SpeechRequest.Text"/>, <paramref name="textLength"/>
    /// chars) starts at <paramref name="sampleOffset"/>, counted from the first sample of this request's PCM.</summary>
    /// <remarks>Called on the engine's thread, in word order, no later than the PCM that contains that sample.</remarks>
    void Word(int textOffset, int textLength, long sampleOffset);
}
