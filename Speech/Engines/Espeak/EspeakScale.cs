namespace MitTts.Speech.Engines.Espeak;

/// <summary>One of espeak-ng's settings read as the factor a request means by <c>pitch</c> or <c>speed</c>: neither setting is one.
/// The pitch setting (0..100, 50 normal) moves a voice's base pitch but not its intonation range, so 100 raises the median
/// fundamental frequency ×1.66 rather than ×2; the rate (words per minute, 175 normal) shortens pauses less than speech, so 350 is
/// ×2.17 as fast at speech-rate but 88 ×0.47.</summary>
/// <remarks>Each table is a measurement over the catalogue's espeak-ng voices (male and female, six languages, the <c>espeak-ng</c>
/// program): the median F0 of a sentence at each pitch setting, and the speed of a three-sentence text (its duration at 175 over its
/// duration at the rate), relative to the normal setting. Voices differ from the table by under 3 % near the normal setting and by
/// up to 8 % at the ends. A factor outside the table's ends gets the end (<see cref="Native"/>); the pipeline applies the rest.</remarks>
public sealed class EspeakScale
{
    /// <summary>The pitch setting, 0..100 in steps of 5: median F0 relative to the setting 50.</summary>
    public static EspeakScale Pitch { get; } = new(0, 5,
    [
        0.665, 0.689, 0.718, 0.746, 0.774, 0.806, 0.835, 0.873, 0.909, 0.952, 1.000,
        1.047, 1.099, 1.158, 1.219, 1.282, 1.350, 1.424, 1.505, 1.589, 1.659,
    ]);

    /// <summary>The rate, 80..440 words per minute in steps of 10 (past 440 the measured speed falls again): speed relative to 175.</summary>
    public static EspeakScale Rate { get; } = new(80, 10,
    [
        0.454, 0.485, 0.543, 0.601, 0.661, 0.725, 0.784, 0.843, 0.904, 0.969, 1.032, 1.094, 1.153,
        1.216, 1.285, 1.354, 1.417, 1.485, 1.542, 1.600, 1.667, 1.727, 1.789, 1.849, 1.940, 2.007,
        2.090, 2.168, 2.239, 2.296, 2.356, 2.416, 2.481, 2.534, 2.591, 2.639, 2.713,
    ]);

    private readonly int _first;
    private readonly int _step;
    private readonly double[] _factors;

    private EspeakScale(int first, int step, double[] factors) => (_first, _step, _factors) = (first, step, factors);

    /// <summary>The lowest factor the setting reaches.</summary>
    public double Lowest => _factors[0];

    /// <summary>The highest factor the setting reaches.</summary>
    public double Highest => _factors[^1];

    /// <summary>The setting that gives <paramref name="factor"/> (interpolated between measured ones); an end of the scale beyond it.</summary>
    public int Setting(double factor)
    {
        if (!(factor > Lowest))
        {
            return _first;
        }

        if (factor >= Highest)
        {
            return _first + ((_factors.Length - 1) * _step);
        }

        var i = 0;
        while (_factors[i + 1] < factor)
        {
            i++;
        }

        var within = (factor - _factors[i]) / (_factors[i + 1] - _factors[i]);
        return _first + (int)Math.Round((i + within) * _step);
    }

    /// <summary>The part of <paramref name="factor"/> the setting gives: the factor, held to the scale's ends.</summary>
    public double Native(double factor) => Math.Clamp(factor, Lowest, Highest);
}
