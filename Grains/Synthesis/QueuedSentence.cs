using System.Diagnostics.CodeAnalysis;
using MitTts.Speech.Audio;
using MitTts.Speech.Engines;

namespace MitTts.Grains.Synthesis;

/// <summary>One sentence handed to an in-order engine (<see cref="ISpeechEngine.RunsInOrder"/>), speaking into a buffer of its own until
/// the job takes its audio; one queued ahead of time can be dropped without leaving part of it in the job's audio.</summary>
[SuppressMessage("Design", "CA1001", Justification = "Freed by TakeInto or Discard once the engine is done with the buffer; a Dispose could free it under the engine.")]
internal sealed class QueuedSentence
{
    private readonly PcmBuffer _pcm = new(4096);
    private readonly CancellationTokenSource _cancel;
    private readonly Task _speaking;

    public QueuedSentence(ISpeechEngine engine, SpeechRequest request, CancellationToken jobCancellation)
    {
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(jobCancellation);
        _speaking = engine.SynthesizeAsync(request, _pcm, _cancel.Token);
    }

    /// <summary>Waits for the sentence and appends its audio to <paramref name="destination"/>.</summary>
    public async Task TakeInto(PcmBuffer destination)
    {
        try
        {
            await _speaking;
            destination.Write(_pcm.Samples);
        }
        finally
        {
            Release();
        }
    }

    /// <summary>Stops the sentence (at once if the engine has not reached it) and frees it once the engine is done with its buffer.</summary>
    public async Task Discard()
    {
        await _cancel.CancelAsync();

        // Whatever it ended with does not matter: its audio is not used. Back on the caller's context (a grain's scheduler).
        await _speaking.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
        Release();
    }

    private void Release()
    {
        _cancel.Dispose();
        _pcm.Dispose();
    }
}
