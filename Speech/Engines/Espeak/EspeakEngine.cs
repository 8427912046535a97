namespace MitTts.Speech.Engines.Espeak;

/// <summary>The embedded default engine: espeak-ng through libespeak-ng.so.1, 100+ languages, far faster than real time.</summary>
/// <remarks>Every instance shares the one process-wide <see cref="EspeakWorker"/> thread, the only thread that ever enters the library.</remarks>
public sealed class EspeakEngine : ISpeechEngine
{
    public const string EngineName = "espeak-ng";

    public string Name => EngineName;

    public int SampleRate => EspeakWorker.Instance.SampleRate;

    /// <summary>espeak-ng speaks at the requested rate and pitch itself (<c>espeakRATE</c>, <c>espeakPITCH</c>).</summary>
    public bool AppliesSpeedAndPitch => true;

    public bool AppliesSpeed => true;

    /// <summary>espeak-ng's pitch scale reaches ×0.67..×1.66 (<see cref="EspeakScale.Pitch"/>); the audio pipeline shifts the rest.</summary>
    public double NativePitch(double pitch) => EspeakScale.Pitch.Native(pitch);

    /// <summary>Every request goes to the one <see cref="EspeakWorker"/> thread, which takes them in order.</summary>
    public bool RunsInOrder => true;

    /// <summary>Whether the library loaded and initialized; the reason otherwise.</summary>
    public static (bool Available, string? Reason) Probe() => EspeakWorker.Instance.Probe();

    public Task SynthesizeAsync(SpeechRequest request, IPcmSink sink, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(sink);
        return EspeakWorker.Instance.Enqueue(request, sink, cancellationToken);
    }
}
