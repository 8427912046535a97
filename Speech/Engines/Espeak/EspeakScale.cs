namespace MitTts.Speech.Engines.Espeak;

/// <summary>espeak-ng's pitch setting read as the factor a request means by <c>pitch</c>: the setting (0..100, 50 normal) moves a
/// voice's base pitch but not its intonation range, so 100 raises the median fundamental frequency ×1.66 rather than ×2.</summary>
/// <remarks>The table is a measurement over the catalogue's espeak-ng voices (male and female, six languages, the <c>espeak-ng</c>
/// program): the median F0 of a sentence at each setting relative to the setting 50 (voices within 3 % of it near the normal setting,
/// 5 % at the ends). A factor outside its ends gets the end (<see cref="Native"/>); the audio pipeline applies the rest.</remarks>
public sealed class EspeakScale
{
    /// <summary>The pitch setting, 0..100 in steps of 5: median F0 relative to the setting 50.</summary>
    public static EspeakScale Pitch { get; } = new(0, 5,
    [
        0.665, 0.689, 0.718, 0.746, 0.774, 0.806, 0.835, 0.873, 0.909, 0.952, 1.000,
        1.047, 1.099, 1.158, 1.219, 1.282, 1.350, 1.424, 1.505, 1.589, 1.659,
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
