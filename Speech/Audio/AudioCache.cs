using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace MitTts.Speech.Audio;

/// <summary>Everything that decides the bytes of a rendering; two equal keys always give identical audio. <see cref="Owner"/>, the user
/// the request came from when auth is on: one user's hit never tells of another's text (the <c>cache_hit</c> flag and the answer's speed
/// would say someone asked for it).</summary>
public readonly record struct AudioCacheKey(string Text, string Voice, string Format, int SampleRate, double Speed, double Pitch, int? BitrateKbps, string? Owner = null)
{
    /// <summary>The SHA-256 of the key's canonical form: the cache is addressed by content, not by request.</summary>
    public string Digest()
    {
        var canonical = string.Create(
            CultureInfo.InvariantCulture,
            $"{Owner}\n{Voice}\n{Format}\n{SampleRate}\n{Speed:R}\n{Pitch:R}\n{BitrateKbps}\n{Text}");
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }
}

/// <summary>Encoded audio as kept by the cache.</summary>
public sealed record CachedAudio(byte[] Data, string ContentType, string FileExtension, int SampleRate, double DurationSeconds);

/// <summary>A least-recently-used cache of rendered audio, bounded by entry count and by total bytes.</summary>
/// <remarks>Thread-safe: synthesizers on several devices share one per silo.</remarks>
public sealed class AudioCache
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _recency = new();
    private long _bytes;
    private long _hits;
    private long _misses;

    public AudioCache(int maxEntries, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxEntries);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        MaxEntries = maxEntries;
        MaxBytes = maxBytes;
    }

    /// <summary>Most entries kept; changed at run time by <see cref="Resize"/> (live configuration).</summary>
    public int MaxEntries { get; private set; }

    public long MaxBytes { get; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    public long Bytes => Interlocked.Read(ref _bytes);

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    public bool TryGet(AudioCacheKey key, out CachedAudio audio)
    {
        var digest = key.Digest();
        lock (_lock)
        {
            if (_entries.TryGetValue(digest, out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                _hits++;
                audio = node.Value.Audio;
                return true;
            }

            _misses++;
        }

        audio = null!;
        return false;
    }

    /// <summary>Keeps <paramref name="audio"/> under <paramref name="key"/>, evicting the least recently used entries past either limit.</summary>
    public void Add(AudioCacheKey key, CachedAudio audio)
    {
        ArgumentNullException.ThrowIfNull(audio);
        if (MaxEntries == 0 || audio.Data.Length > MaxBytes)
        {
            return;
        }

        var digest = key.Digest();
        lock (_lock)
        {
            if (_entries.Remove(digest, out var existing))
            {
                _recency.Remove(existing);
                _bytes -= existing.Value.Audio.Data.Length;
            }

            _entries[digest] = _recency.AddFirst(new Entry(digest, audio));
            _bytes += audio.Data.Length;
            while (_entries.Count > MaxEntries || _bytes > MaxBytes)
            {
                var oldest = _recency.Last!;
                _recency.RemoveLast();
                _entries.Remove(oldest.Value.Digest);
                _bytes -= oldest.Value.Audio.Data.Length;
            }
        }
    }

    /// <summary>Changes the entry limit, evicting the least recently used entries past it at once; 0 empties and turns the cache off.</summary>
    public void Resize(int maxEntries)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxEntries);
        lock (_lock)
        {
            MaxEntries = maxEntries;
            while (_entries.Count > MaxEntries)
            {
                var oldest = _recency.Last!;
                _recency.RemoveLast();
                _entries.Remove(oldest.Value.Digest);
                _bytes -= oldest.Value.Audio.Data.Length;
            }
        }
    }

    private sealed record Entry(string Digest, CachedAudio Audio);
}
