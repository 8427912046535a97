using System.Diagnostics;
using Microsoft.Extensions.Logging;
using MitTts.Grains.Voices;
using MitTts.Speech.Engines.Onnx.Piper;

namespace MitTts.Grains.Synthesis.Neural;

/// <summary>Learns the stream gain of each single-speaker Piper voice whose model was opened at startup, one after the other in the
/// background, so that the first stream of such a voice does not wait for a calibration inference (a pangram of three short sentences)
/// before its first audio.</summary>
/// <remarks>Kokoro and multi-speaker Piper models hold many voices each (a calibration per voice): they still learn on first use. A
/// stream that comes first calibrates itself, as before; the gain is the same either way.</remarks>
public sealed partial class StreamGainWarmup(VoiceCatalog voices, NeuralEngines neural, SpeechRenderer renderer, ILogger<StreamGainWarmup> logger)
{
    /// <summary>The voices learnt at startup, each with the open model that speaks it on the first of <paramref name="devices"/> that
    /// runs it.</summary>
    public IReadOnlyList<(VoiceEntry Voice, NeuralModelSlot Model)> Voices(IReadOnlyList<string> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        var found = new List<(VoiceEntry, NeuralModelSlot)>();
        foreach (var voice in voices.Voices)
        {
            if (voice.Engine != PiperEngine.EngineName || voice.EngineVoice.Length > 0 || !neural.IsAvailable(voice))
            {
                continue;
            }

            foreach (var device in devices)
            {
                if (neural.Engine(device, voice) is NeuralModelSlot { IsOpen: true } slot)
                {
                    found.Add((voice, slot));
                    break;
                }
            }
        }

        return found;
    }

    /// <summary>Learns every gain of <see cref="Voices"/> not known yet; a failure is logged and the next voice goes on.</summary>
    public async Task Run(IReadOnlyList<string> devices, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var learnt = 0;
        foreach (var (voice, model) in Voices(devices))
        {
            if (renderer.KnowsStreamGain(voice))
            {
                continue;
            }

            try
            {
                await renderer.LearnStreamGain(voice, model, cancellationToken);
                learnt++;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogCalibrationFailed(voice.Id, e);
            }
        }

        if (learnt > 0)
        {
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            LogLearnt(learnt, seconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Learnt the stream gain of {Count} neural voices in {Seconds:0.0} s")]
    private partial void LogLearnt(int count, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Voice {VoiceId}: its stream gain could not be learnt at startup; its first stream learns it")]
    private partial void LogCalibrationFailed(string voiceId, Exception exception);
}
