using MitTts.Tests.Support;

namespace MitTts.Tests.Speech.Audio;

/// <summary>The click detector the format tests rely on finds a real click and ignores a smooth signal.</summary>
public sealed class ClickDetectorTests
{
    private static short[] Tone() => [.. Enumerable.Range(0, 8000).Select(i => (short)(8000 * Math.Sin(2 * Math.PI * 220 * i / 8000)))];

    [Fact]
    public void A_smooth_tone_has_no_clicks_at_any_boundary()
    {
        Assert.Empty(AudioMeasures.Clicks(Tone(), [100, 1234, 4000, 7000]));
    }

    [Fact]
    public void A_jump_at_a_boundary_is_a_click()
    {
        var tone = Tone();
        for (var i = 4000; i < tone.Length; i++)
        {
            tone[i] = (short)Math.Clamp(tone[i] + 12000, short.MinValue, short.MaxValue);
        }

        Assert.Equal([4000], AudioMeasures.Clicks(tone, [1234, 4000, 7000]));
    }
}
