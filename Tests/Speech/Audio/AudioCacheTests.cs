using MitTts.Speech.Audio;

namespace MitTts.Tests.Speech.Audio;

/// <summary>The audio cache: addressed by everything that shapes the audio, least recently used out first, bounded twice.</summary>
public sealed class AudioCacheTests
{
    private static AudioCacheKey Key(string text, string format = "wav", int rate = 22050, double speed = 1.0) =>
        new(text, "espeak-ng/en", format, rate, speed, 1.0, null);

    private static CachedAudio Audio(int bytes) => new(new byte[bytes], "audio/wav", "wav", 22050, 1.0);

    [Fact]
    public void A_hit_returns_the_stored_bytes_and_any_difference_in_the_key_misses()
    {
        var cache = new AudioCache(10, 1 << 20);
        var audio = Audio(100);
        cache.Add(Key("hello"), audio);

        Assert.True(cache.TryGet(Key("hello"), out var hit));
        Assert.Same(audio.Data, hit.Data);
        Assert.False(cache.TryGet(Key("hello", format: "mp3"), out _));
        Assert.False(cache.TryGet(Key("hello", rate: 8000), out _));
        Assert.False(cache.TryGet(Key("hello", speed: 1.5), out _));
        Assert.False(cache.TryGet(Key("Hello"), out _));
        Assert.Equal((1, 4), (cache.Hits, cache.Misses));
    }

    [Fact]
    public void The_entry_limit_evicts_the_least_recently_used()
    {
        var cache = new AudioCache(2, 1 << 20);
        cache.Add(Key("a"), Audio(10));
        cache.Add(Key("b"), Audio(10));
        Assert.True(cache.TryGet(Key("a"), out _));

        cache.Add(Key("c"), Audio(10));

        Assert.True(cache.TryGet(Key("a"), out _));
        Assert.False(cache.TryGet(Key("b"), out _));
        Assert.True(cache.TryGet(Key("c"), out _));
        Assert.Equal(2, cache.Count);
    }

    [Fact]
    public void The_byte_limit_evicts_until_the_cache_fits_and_refuses_what_never_fits()
    {
        var cache = new AudioCache(100, 250);
        cache.Add(Key("a"), Audio(100));
        cache.Add(Key("b"), Audio(100));

        cache.Add(Key("c"), Audio(100));
        cache.Add(Key("huge"), Audio(1000));

        Assert.False(cache.TryGet(Key("a"), out _));
        Assert.False(cache.TryGet(Key("huge"), out _));
        Assert.Equal((2, 200L), (cache.Count, cache.Bytes));
    }
}
