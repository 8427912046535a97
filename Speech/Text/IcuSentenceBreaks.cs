using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;

namespace MitTts.Speech.Text;

/// <summary>ICU's sentence break iterator (UAX #29 with CLDR's abbreviation suppressions) from the system's libicuuc.</summary>
/// <remarks>ICU exports its symbols with the major version appended (ubrk_open_72), so they cannot be named in a
/// [LibraryImport]: like .NET's System.Globalization.Native, this probes libicuuc.so.N from new to old, then takes the
/// suffixed or plain export through <see cref="NativeLibrary"/> as function pointers.</remarks>
internal static unsafe class IcuSentenceBreaks
{
    private const int SentenceBreak = 3; // UBRK_SENTENCE
    private const int Done = -1; // UBRK_DONE
    private const int NewestVersion = 100;
    private const int OldestVersion = 50;

    private static readonly Api? s_api = Api.Load();

    // Iterators are not thread-safe and costly to open (the suppression trie is built per open): keep the idle ones by locale.
    private static readonly ConcurrentDictionary<string, ConcurrentBag<nint>> s_idle = new(StringComparer.Ordinal);

    public static bool Available => s_api is not null;

    /// <summary>Adds to <paramref name="ends"/> the end (exclusive) of each sentence of <paramref name="text"/>, the last being its length.</summary>
    /// <returns>False when ICU is not available or failed, with <paramref name="ends"/> untouched.</returns>
    public static bool TryFindEnds(string text, string language, List<int> ends)
    {
        var api = s_api;
        if (api is null || text.Length == 0)
        {
            return api is not null;
        }

        var idle = s_idle.GetOrAdd(language, static _ => []);
        if (!idle.TryTake(out var iterator))
        {
            iterator = api.Open(language);
            if (iterator == 0)
            {
                return false;
            }
        }

        try
        {
            var status = 0;
            fixed (char* p = text)
            {
                api.SetText(iterator, p, text.Length, &status);
                if (status > 0)
                {
                    return false;
                }

                api.First(iterator);
                for (var end = api.Next(iterator); end != Done; end = api.Next(iterator))
                {
                    ends.Add(end);
                }

                // Leave no pointer into the unpinned string behind in the idle iterator.
                api.SetText(iterator, null, 0, &status);
            }

            return true;
        }
        finally
        {
            idle.Add(iterator);
        }
    }

    private sealed class Api
    {
        private readonly delegate* unmanaged<int, byte*, char*, int, int*, nint> _open;
        private readonly delegate* unmanaged<nint, char*, int, int*, void> _setText;
        private readonly delegate* unmanaged<nint, int> _first;
        private readonly delegate* unmanaged<nint, int> _next;

        private Api(nint library, string suffix)
        {
            _open = (delegate* unmanaged<int, byte*, char*, int, int*, nint>)NativeLibrary.GetExport(library, "ubrk_open" + suffix);
            _setText = (delegate* unmanaged<nint, char*, int, int*, void>)NativeLibrary.GetExport(library, "ubrk_setText" + suffix);
            _first = (delegate* unmanaged<nint, int>)NativeLibrary.GetExport(library, "ubrk_first" + suffix);
            _next = (delegate* unmanaged<nint, int>)NativeLibrary.GetExport(library, "ubrk_next" + suffix);
        }

        public static Api? Load()
        {
            try
            {
                for (var version = NewestVersion; version >= OldestVersion; version--)
                {
                    if (NativeLibrary.TryLoad($"libicuuc.so.{version}", out var library))
                    {
                        return FromLibrary(library, version);
                    }
                }

                // macOS's system copy and Windows 10's icu.dll export the plain names.
                foreach (var name in (ReadOnlySpan<string>)["libicucore.dylib", "icu.dll", "libicuuc.so"])
                {
                    if (NativeLibrary.TryLoad(name, out var library))
                    {
                        return FromLibrary(library, version: null);
                    }
                }
            }
            catch (EntryPointNotFoundException)
            {
            }

            return null;
        }

        private static Api? FromLibrary(nint library, int? version)
        {
            if (version is not null && NativeLibrary.TryGetExport(library, $"ubrk_open_{version}", out _))
            {
                return new Api(library, $"_{version}");
            }

            return NativeLibrary.TryGetExport(library, "ubrk_open", out _) ? new Api(library, string.Empty) : null;
        }

        /// <summary>A sentence iterator for <paramref name="language"/> with CLDR's standard suppressions; 0 on failure.</summary>
        public nint Open(string language)
        {
            var locale = Encoding.ASCII.GetBytes(language + "@ss=standard\0");
            var status = 0;
            fixed (byte* l = locale)
            {
                var iterator = _open(SentenceBreak, l, null, 0, &status);
                return status > 0 ? 0 : iterator;
            }
        }

        public void SetText(nint iterator, char* text, int length, int* status) => _setText(iterator, text, length, status);

        public int First(nint iterator) => _first(iterator);

        public int Next(nint iterator) => _next(iterator);
    }
}
