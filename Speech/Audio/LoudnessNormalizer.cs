namespace MitTts.Speech.Audio;

/// <summary>Brings an utterance to one loudness so every voice sounds equally loud: a fixed RMS target, never past the peak ceiling.</summary>
public static class LoudnessNormalizer
{
    /// <summary>Target RMS level, of full scale (−20 dBFS).</summary>
    public const double TargetRms = 0.1;

    /// <summary>Highest peak after the gain, of full scale (−1 dBFS): no sample clips.</summary>
    public const double PeakCeiling = 0.891;

    /// <summary>Largest boost (+20 dB), so near-silence is not amplified into noise.</summary>
    public const double MaximumGain = 10.0;

    /// <summary>Scales <paramref name="samples"/> in place; silence stays silence.</summary>
    public static void Normalize(Span<short> samples)
    {
        var gain = GainFor(samples);
        if (gain == 1.0)
        {
            return;
        }

        for (var i = 0; i < samples.Length; i++)
        {
            samples[i] = (short)Math.Clamp(Math.Round(samples[i] * gain), short.MinValue + 1, short.MaxValue);
        }
    }

    /// <summary>The gain that takes the signal's RMS to <see cref="TargetRms"/>, limited by the peak ceiling.</summary>
    public static double GainFor(ReadOnlySpan<short> samples)
    {
        double sumOfSquares = 0;
        var peak = 0;
        foreach (var sample in samples)
        {
            sumOfSquares += (double)sample * sample;
            peak = Math.Max(peak, Math.Abs((int)sample));
        }

        if (peak == 0)
        {
            return 1.0;
        }

        var rms = Math.Sqrt(sumOfSquares / samples.Length) / short.MaxValue;
        var gain = Math.Min(TargetRms / rms, MaximumGain);
        return Math.Min(gain, PeakCeiling * short.MaxValue / peak);
    }
}
