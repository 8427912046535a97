using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;

namespace MitTts.Tests.Speech.Audio;

/// <summary>Where whole-file encodes run: long MP3 and Ogg encodes on the thread pool stalled it, and every live socket with it.</summary>
public sealed class RendererEncodeThreadTests
{
    private static readonly AudioResult s_done = new([1, 2], "audio/mpeg", "mp3", 22050, 0.1);

    [Fact]
    public async Task Compressed_encodes_run_off_the_thread_pool_at_most_one_fewer_than_the_cores_at_once()
    {
        using var renderer = new SpeechRenderer(null!, null!, null!);
        var cap = Math.Max(1, Environment.ProcessorCount - 1);
        using var release = new ManualResetEventSlim();
        var running = 0;
        var most = 0;
        var onPool = 0;
        AudioResult Encode()
        {
            if (Thread.CurrentThread.IsThreadPoolThread)
            {
                Interlocked.Increment(ref onPool);
            }

            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref most, now);
            release.Wait(TimeSpan.FromSeconds(30));
            Interlocked.Decrement(ref running);
            return s_done;
        }

        var formats = new[] { AudioFormat.Mp3, AudioFormat.Ogg, AudioFormat.Flac, AudioFormat.Aac, AudioFormat.Mp3, AudioFormat.Ogg };
        var encodes = formats.Select(format => renderer.FinishOffThread(Encode, format)).ToList();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Volatile.Read(ref running) < cap && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        // The rest wait for a turn: none of them has started.
        Assert.Equal(cap, Volatile.Read(ref running));
        Assert.All(encodes.Skip(cap), encode => Assert.False(encode.IsCompleted));
        release.Set();
        await Task.WhenAll(encodes);

        Assert.Equal(cap, most);
        Assert.Equal(0, onPool);
    }

    [Fact]
    public async Task Cheap_formats_finish_on_the_thread_pool_without_waiting_for_compressed_encodes()
    {
        using var renderer = new SpeechRenderer(null!, null!, null!);
        using var release = new ManualResetEventSlim();
        var blocked = Enumerable.Range(0, Environment.ProcessorCount + 1)
            .Select(_ => renderer.FinishOffThread(() => { release.Wait(TimeSpan.FromSeconds(30)); return s_done; }, AudioFormat.Mp3))
            .ToList();

        foreach (var format in new[] { AudioFormat.Wav, AudioFormat.Pcm, AudioFormat.Mulaw, AudioFormat.Alaw })
        {
            var onPool = await renderer.FinishOffThread(() => Thread.CurrentThread.IsThreadPoolThread ? s_done : null!, format).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Same(s_done, onPool);
        }

        release.Set();
        await Task.WhenAll(blocked);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
