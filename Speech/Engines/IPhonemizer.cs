namespace MitTts.Speech.Engines;

/// <summary>Turns text into the phonemes a neural voice reads: one string of IPA per sentence, a phoneme per code point.</summary>
public interface IPhonemizer
{
    /// <summary>The phonemes of <paramref name="text"/> in <paramref name="language"/> (an espeak-ng voice name such as <c>en-us</c>).</summary>
    Task<IReadOnlyList<string>> PhonemizeAsync(string text, string language, CancellationToken cancellationToken = default);
}
