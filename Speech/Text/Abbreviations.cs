using System.Collections.Frozen;

namespace MitTts.Speech.Text;

/// <summary>Per-language abbreviations after whose period a sentence does not end, on top of ICU's CLDR suppressions.</summary>
/// <remarks>Words are lower case, without their final period; inner periods stay (e.g, z.b, sig.ra). Abbreviations that
/// often end a sentence (etc., usw., Inc., p.m.) are left out on purpose: ICU already keeps them when a lower-case word
/// follows, and a capital after them usually does start a new sentence.</remarks>
internal sealed class Abbreviations
{
    private static readonly FrozenDictionary<string, Abbreviations> s_byLanguage = new Dictionary<string, Abbreviations>(StringComparer.Ordinal)
    {
        // English text names Spanish and French people too (Sra. García, Mme Curie); null language means English.
        ["en"] = new(
            "mr mrs ms messrs dr prof sr jr st mt ft vs e.g i.e cf approx dept gen gov sen rep rev capt col lt sgt cpl hon esq sra srta mme mlle dña",
            "no nos fig figs vol vols p pp ch sec art eq tel jan feb mar apr jun jul aug sep sept oct nov dec",
            initialExceptions: "i"),
        ["es"] = new(
            "sr sra srta sres sras dr dra dres d dña ud uds vd vds lic lda ing arq prof profa excmo excma ilmo ilma sto sta ej p.ej aprox avda av atte",
            "pág págs p pp núm n no cap art vol tel ene feb mar abr may jun jul ago sep sept oct nov dic"),
        ["fr"] = new(
            "m mm mme mmes mlle mlles dr pr me mgr st ste cf env p.ex c.-à-d vs",
            "p pp no vol art chap fig tél janv févr avr juil sept oct nov déc"),
        ["de"] = new(
            "hr hrn fr dr prof dipl ing z.b d.h u.a bzw ca vgl ggf evtl bspw inkl zzgl sog allg jh jhd st",
            "nr s abs bd kap tel jan feb mär apr jun jul aug sep sept okt nov dez",
            ordinalMonths: "januar februar märz april mai juni juli august september oktober november dezember jan feb mär apr jun jul aug sep sept okt nov dez"),
        ["it"] = new(
            "sig sigg sig.ra sig.na sigra dott dott.ssa dr prof prof.ssa ing avv arch geom rag on sen cfr es",
            "pag pagg p pp n nr num art cap vol tel genn febbr mar apr magg giu lug ago sett ott nov dic"),
        ["pt"] = new(
            "sr sra srta sras srs dr dra drs dras prof profa eng exmo exma sto sta ex p.ex aprox av d",
            "pág págs p pp n núm art cap vol tel jan fev mar abr mai jun jul ago set out nov dez"),
        ["nl"] = new(
            "dhr mevr mw dr drs ir ing prof mr bijv bv d.w.z o.a m.a.w i.p.v t.a.v ca vgl resp",
            "nr blz p art hfst tel jan feb mrt apr jun jul aug sep sept okt nov dec"),
        ["ca"] = new(
            "sr sra srta srs dr dra prof profa mn ex p.ex aprox av vs",
            "pàg pàgs p pp núm n art cap vol tel gen febr març abr maig jul ag set oct nov des"),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private readonly FrozenSet<string> _always;
    private readonly FrozenSet<string> _beforeDigit;
    private readonly FrozenSet<string> _initialExceptions;
    private readonly FrozenSet<string> _ordinalMonths;

    private Abbreviations(string always, string beforeDigit, string initialExceptions = "", string ordinalMonths = "")
    {
        _always = Words(always);
        _beforeDigit = Words(beforeDigit);
        _initialExceptions = Words(initialExceptions);
        _ordinalMonths = Words(ordinalMonths);
    }

    /// <summary>The list for an ISO 639-1 code ("es", "pt-BR"); English for null or a language we have no list for.</summary>
    public static Abbreviations For(string? language) =>
        language is not null && s_byLanguage.TryGetValue(Normalize(language), out var list) ? list : s_byLanguage["en"];

    /// <summary>The two-letter, lower-case language of a tag ("pt-BR" gives "pt"); "en" for null or empty.</summary>
    public static string Normalize(string? language)
    {
        if (string.IsNullOrEmpty(language))
        {
            return "en";
        }

        var end = language.IndexOfAny(['-', '_', '@', '.']);
        var code = end < 0 ? language : language[..end];
        return code.Length == 0 ? "en" : code.ToLowerInvariant();
    }

    /// <summary>Whether a period after <paramref name="word"/> never ends a sentence.</summary>
    public bool IsAlways(ReadOnlySpan<char> word) => _always.GetAlternateLookup<ReadOnlySpan<char>>().Contains(word);

    /// <summary>Whether a period after <paramref name="word"/> does not end a sentence when a number follows (No. 5, pág. 3, Jan. 5).</summary>
    public bool IsBeforeDigit(ReadOnlySpan<char> word) => _beforeDigit.GetAlternateLookup<ReadOnlySpan<char>>().Contains(word);

    /// <summary>Whether a single letter followed by a period is a word rather than an initial (English "I.").</summary>
    public bool IsNotInitial(ReadOnlySpan<char> letter) => _initialExceptions.GetAlternateLookup<ReadOnlySpan<char>>().Contains(letter);

    /// <summary>Whether a number with a period before <paramref name="word"/> is an ordinal date (German "am 5. Januar").</summary>
    public bool IsOrdinalMonth(ReadOnlySpan<char> word) => _ordinalMonths.GetAlternateLookup<ReadOnlySpan<char>>().Contains(word);

    private static FrozenSet<string> Words(string list) =>
        list.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToFrozenSet(StringComparer.OrdinalIgnoreCase);
}
