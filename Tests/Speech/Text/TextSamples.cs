using System.Text;

namespace MitTts.Tests.Speech.Text;

/// <summary>Random text for property tests: words, abbreviations, numbers, URLs, punctuation and whitespace of every kind.</summary>
internal static class TextSamples
{
    public static readonly string[] Languages = ["en", "es", "fr", "de", "it", "pt", "nl", "ca"];

    private static readonly string[] s_pieces =
    [
        "hello", "World", "the", "Dr.", "Sra.", "z. B.", "bijv.", "etc.", "e.g.", "p.m.", "J.", "Jan.", "No.", "pág.", "5.", "am 5. Januar",
        "3.14", "1.000,50", "1,000.50", "https://example.com/a.b?c=d", "www.example.org", "name@example.com", "¿Qué?", "¡Sí!", "«Hola.»",
        "\"Stop.\"", "(yes!)", "[no?]", "...", "…", "。", "日本語", "😀", "𝒳", "café", "Über", ",", ";", ":", "—", ".", "!", "?", "?!",
        " ", " ", " ", "  ", "\n", "\n\n", "\t", "\r\n",
    ];

    public static string Random(Random random, int pieces)
    {
        var text = new StringBuilder();
        for (var i = 0; i < pieces; i++)
        {
            text.Append(s_pieces[random.Next(s_pieces.Length)]);
            if (random.Next(3) > 0)
            {
                text.Append(' ');
            }
        }

        return text.ToString();
    }

    /// <summary>Random text that ends with a complete sentence: every sentence end in it is followed by whole words.</summary>
    public static string EndingWithASentence(Random random, int pieces) => Random(random, pieces) + " The end came. Then we left.";
}
