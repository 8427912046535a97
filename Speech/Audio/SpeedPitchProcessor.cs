using NWaves.Operations;
using NWaves.Operations.Tsm;
using NWaves.Signals;

namespace MitTts.Speech.Audio;

/// <summary>Speed and pitch for engines that cannot apply them: WSOLA time stretching (NWaves) and resampling.</summary>
/// <remarks>Pitch p is a stretch by p followed by playing back p times faster, so the duration depends on speed alone.</remarks>
public static class SpeedPitchProcessor
{
    /// <summary>Returns <paramref name="samples"/> spoken <paramref name="speed"/> times faster and <paramref name="pitch"/> times higher.</summary>
    public static short[] Apply(ReadOnlySpan<short> samples, int sampleRate, double speed, double pitch)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(speed);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pitch);
        if (speed == 1.0 && pitch == 1.0)
        {
            return samples.ToArray();
        }

        var stretch = pitch / speed;
        var stretched = samples;
        short[]? stretchedArray = null;
        if (Math.Abs(stretch - 1.0) > 1e-6)
        {
            var signal = new float[samples.Length];
            for (var i = 0; i < samples.Length; i++)
            {
                signal[i] = samples[i] / 32768f;
            }

            var result = Operation.TimeStretch(new DiscreteSignal(sampleRate, signal), stretch, TsmAlgorithm.Wsola);
            var target = (int)Math.Round(samples.Length * stretch);
            stretchedArray = new short[target];
            var produced = Math.Min(target, result.Length);
            for (var i = 0; i < produced; i++)
            {
                stretchedArray[i] = (short)Math.Clamp(Math.Round(result.Samples[i] * 32768f), short.MinValue, short.MaxValue);
            }

            stretched = stretchedArray;
        }

        if (pitch == 1.0)
        {
            return stretchedArray ?? stretched.ToArray();
        }

        // Treating the stretched signal as if recorded at rate × pitch and converting it back to rate raises the pitch by p.
        return StreamingResampler.ResampleWhole(stretched, (int)Math.Round(sampleRate * pitch), sampleRate);
    }
}
