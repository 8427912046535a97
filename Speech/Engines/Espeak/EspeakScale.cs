namespace MitTts.Speech.Engines.Espeak;

/// <summary>One of espeak-ng's settings read as the factor a request means by <c>pitch</c> or <c>speed</c>: neither setting is one.
/// The pitch setting (0..100, 50 normal) moves a voice's base pitch but not its intonation range, so 100 raises the median
/// fundamental frequency ×1.66 rather than ×2; the rate (words per minute, 175 normal) shortens pauses more than speech, so how
/// much faster a rate speaks depends on the text: 350 spoke short sentences with pauses ×2.2–2.5 as fast, long ones ×1.7–1.9.</summary>
/// <remarks>Each table is a measurement over the catalogue's espeak-ng voices (male and female, six languages, the <c>espeak-ng</c>
/// program), relative to the normal setting: the median F0 of a sentence at each pitch setting (voices within 3 % of it near the
/// normal setting, 5 % at the ends); the speed (duration at 175 over duration at the rate) as the mean of two texts per language,
/// three short sentences and a paragraph of two long ones, so that a text between the two speaks within about 15 % of the factor
/// asked (at 2.0: short sentences ×2.2–2.5, long ones ×1.7–1.9). A factor outside a table's ends gets the end (<see cref="Native"/>);
/// the pipeline applies the rest of a pitch.</remarks>
public sealed class EspeakScale
{
    /// <summary>The pitch setting, 0..100 in steps of 5: median F0 relative to the setting 50.</summary>
    public static EspeakScale Pitch { get; } = new(0, 5,
    [
        0.665, 0.689, 0.718, 0.746, 0.774, 0.806, 0.835, 0.873, 0.909, 0.952, 1.000,
        1.047, 1.099, 1.158, 1.219, 1.282, 1.350, 1.424, 1.505, 1.589, 1.659,
    ]);

    /// <summary>The rate, 80..440 words per minute in steps of 10 (at 450 espeak-ng's speed jumps): speed relative to 175.</summary>
    public static EspeakScale Rate { get; } = new(80, 10,
    [
        0.469, 0.500, 0.558, 0.615, 0.674, 0.737, 0.794, 0.851, 0.910, 0.970, 1.030, 1.089, 1.143,
        1.202, 1.264, 1.324, 1.381, 1.438, 1.491, 1.542, 1.600, 1.651, 1.704, 1.755, 1.822, 1.883,
        1.947, 2.005, 2.058, 2.108, 2.167, 2.220, 2.276, 2.322, 2.377, 2.426, 2.484,
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
