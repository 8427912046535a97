using MitTts.Tests.Support;

namespace MitTts.Tests.Speech;

/// <summary>The comparison the espeak-ng test relies on (<see cref="AudioMeasures.Compare"/>) rejects audio that is corrupted
/// in the ways a binding could corrupt it, each made from real speech of the espeak-ng program.</summary>
public sealed class PcmComparisonTests
{
    private static readonly Lazy<Task<Pcm>> s_speech = new(async () =>
    {
        var (_, wav, _) = await ExternalTool.Run("espeak-ng", "-v", "en-us", "--stdout", "Hello there. This is a test of the speech engine, isn't it?");
        return Pcm.FromWav(wav);
    });

    private static void AssertRejected(short[] speech, short[] corrupted)
    {
        var comparison = AudioMeasures.Compare(speech, corrupted);
        Assert.False(comparison.Identical, comparison.ToString());
        Assert.False(comparison.SameAudio, comparison.ToString());
    }

    [Fact]
    public async Task Comparison_accepts_the_same_samples_and_the_same_waveform_at_another_gain()
    {
        var speech = (await s_speech.Value).Samples;
        var quieter = speech.Select(s => (short)(s / 2)).ToArray();

        Assert.True(AudioMeasures.Compare(speech, [.. speech]).Identical);
        Assert.True(AudioMeasures.Compare(speech, quieter).SameAudio, AudioMeasures.Compare(speech, quieter).ToString());
    }

    [Fact]
    public async Task Comparison_fails_on_byte_swapped_samples()
    {
        var speech = (await s_speech.Value).Samples;
        var swapped = speech.Select(s => (short)(((s & 0xff) << 8) | ((s >> 8) & 0xff))).ToArray();

        AssertRejected(speech, swapped);
        Assert.InRange(AudioMeasures.CentredCorrelation(speech, swapped), -0.2, 0.2);
    }

    [Fact]
    public async Task Comparison_fails_on_a_zeroed_buffer()
    {
        var speech = (await s_speech.Value).Samples;

        AssertRejected(speech, new short[speech.Length]);
    }

    [Fact]
    public async Task Comparison_fails_on_white_noise_with_the_loudness_envelope_of_the_speech()
    {
        var pcm = await s_speech.Value;
        var speech = pcm.Samples;
        // Gaussian noise, scaled per 10 ms frame to the speech's own RMS: the same loudness contour, no speech in it.
        var random = new Random(11);
        var frame = pcm.SampleRate / 100;
        var noise = new short[speech.Length];
        for (var start = 0; start < speech.Length; start += frame)
        {
            var end = Math.Min(speech.Length, start + frame);
            var rms = Math.Sqrt(speech.AsSpan(start, end - start).ToArray().Average(s => (double)s * s));
            for (var i = start; i < end; i++)
            {
                var gaussian = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                noise[i] = (short)Math.Clamp(Math.Round(gaussian * rms), short.MinValue, short.MaxValue);
            }
        }

        // Loudness alone cannot tell them apart: the envelope comparison this test suite used to rely on scores it as speech.
        Assert.True(Pcm.EnvelopeCorrelation(speech, noise, pcm.SampleRate, frameMs: 100) > 0.95);
        AssertRejected(speech, noise);
        Assert.InRange(AudioMeasures.CentredCorrelation(speech, noise), -0.05, 0.05);
        Assert.True(AudioMeasures.Pitch(noise, pcm.SampleRate).VoicedShare < 0.05, "noise passed for voiced speech");
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(-220)]
    [InlineData(1)]
    [InlineData(220)]
    public async Task Comparison_fails_on_a_truncated_or_padded_copy(int samples)
    {
        var speech = (await s_speech.Value).Samples;
        // The common prefix of a cut copy is identical: only an exact length catches it.
        var changed = samples < 0 ? speech[..^-samples] : [.. speech, .. new short[samples]];

        AssertRejected(speech, changed);
        Assert.Throws<ArgumentException>(() => AudioMeasures.CentredCorrelation(speech, changed));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(-1)]
    [InlineData(110)]
    [InlineData(2205)]
    public async Task Comparison_fails_on_a_time_shifted_copy_of_the_same_length(int shift)
    {
        var speech = (await s_speech.Value).Samples;
        var shifted = new short[speech.Length];
        for (var i = 0; i < speech.Length; i++)
        {
            var from = i - shift;
            shifted[i] = from >= 0 && from < speech.Length ? speech[from] : (short)0;
        }

        AssertRejected(speech, shifted);
    }
}
