using System.Runtime.InteropServices;

namespace MitTts.Grains.Channels;

/// <summary>The audio a channel keeps for resuming, copied end to end into fixed blocks of native memory.</summary>
/// <remarks>A piece of audio the reader already has (or that waits for a reader) would otherwise live on as its own array for the
/// resume window: under 50 busy sessions tens of thousands of them, tens of MB that every collection promoted, marked and compacted. Blocks are outside the
/// collected heap (on its pinned heap, allocating them made the GC run full collections), and go back to <see cref="ResumeBlocks"/>
/// when the oldest audio leaves, so a busy silo reuses the same few MB. Offsets grow without end: block <c>i</c> holds
/// <c>[start + i × BlockSize, start + (i + 1) × BlockSize)</c>. Not thread-safe: one channel's turns use it; a channel that is never
/// cleared gives its blocks back when it is collected.</remarks>
public sealed unsafe class ResumeAudio
{
    private readonly List<nint> _blocks = [];
    private long _start;
    private long _end;

    /// <summary>Bytes the blocks held now can take: what the kept audio costs in memory.</summary>
    public long Capacity => (long)_blocks.Count * ResumeBlocks.BlockSize;

    /// <summary>Copies <paramref name="audio"/> after what is held; returns where it starts.</summary>
    public long Write(ReadOnlySpan<byte> audio)
    {
        var at = _end;
        while (!audio.IsEmpty)
        {
            if (_end - _start == Capacity)
            {
                _blocks.Add(ResumeBlocks.Rent());
            }

            var inBlock = (int)((_end - _start) % ResumeBlocks.BlockSize);

            var count = Math.Min(audio.Length, ResumeBlocks.BlockSize - inBlock);
            audio[..count].CopyTo(Block((_end - _start) / ResumeBlocks.BlockSize)[inBlock..]);
            audio = audio[count..];
            _end += count;
        }

        return at;
    }

    /// <summary>A new array with the <paramref name="length"/> bytes written at <paramref name="at"/> (a resume reads them again).</summary>
    public byte[] Read(long at, int length)
    {
        if (at < _start || at + length > _end)
        {
            throw new ArgumentOutOfRangeException(nameof(at), $"Bytes {at}..{at + length} are not held ({_start}..{_end}).");
        }

        var copy = GC.AllocateUninitializedArray<byte>(length);
        var into = copy.AsSpan();
        while (!into.IsEmpty)
        {
            var inBlock = (int)((at - _start) % ResumeBlocks.BlockSize);
            var count = Math.Min(into.Length, ResumeBlocks.BlockSize - inBlock);
            Block((at - _start) / ResumeBlocks.BlockSize).Slice(inBlock, count).CopyTo(into);
            into = into[count..];
            at += count;
        }

        return copy;
    }

    /// <summary>Nothing before <paramref name="offset"/> is needed any more: whole blocks before it go back to the pool, and every block
    /// when nothing is left.</summary>
    public void ReleaseBefore(long offset)
    {
        if (offset >= _end)
        {
            Clear();
            return;
        }

        var whole = (int)((offset - _start) / ResumeBlocks.BlockSize);
        if (whole <= 0)
        {
            return;
        }

        for (var i = 0; i < whole; i++)
        {
            ResumeBlocks.Return(_blocks[i]);
        }

        _blocks.RemoveRange(0, whole);
        _start += (long)whole * ResumeBlocks.BlockSize;
    }

    /// <summary>Gives every block back; offsets go on from where they were.</summary>
    public void Clear()
    {
        foreach (var block in _blocks)
        {
            ResumeBlocks.Return(block);
        }

        _blocks.Clear();
        _start = _end;
    }

    ~ResumeAudio() => Clear();

    private Span<byte> Block(long index) => new((void*)_blocks[(int)index], ResumeBlocks.BlockSize);
}

/// <summary>The silo's free blocks of native memory for <see cref="ResumeAudio"/>; at most <see cref="MaxFree"/> are kept, so a burst's
/// blocks beyond that are freed.</summary>
public static unsafe class ResumeBlocks
{
    /// <summary>Bytes per block: a few pieces of streamed audio each, small enough that an idle session's last block costs little.</summary>
    public const int BlockSize = 16 * 1024;

    /// <summary>Free blocks kept for reuse (16 MB).</summary>
    public const int MaxFree = 1024;

    private static readonly Stack<nint> s_free = new();
    private static long s_held;
    private static readonly Lock s_lock = new();

    /// <summary>Bytes of blocks holding kept audio now, and of free ones (read together; a block being allocated may be missing).</summary>
    public static (long Used, long Free) Usage()
    {
        long free;
        lock (s_lock)
        {
            free = (long)s_free.Count * BlockSize;
        }

        return (Math.Max(0, Interlocked.Read(ref s_held) - free), free);
    }

    public static nint Rent()
    {
        lock (s_lock)
        {
            if (s_free.TryPop(out var block))
            {
                return block;
            }
        }

        Interlocked.Add(ref s_held, BlockSize);
        return (nint)NativeMemory.Alloc(BlockSize);
    }

    public static void Return(nint block)
    {
        lock (s_lock)
        {
            if (s_free.Count < MaxFree)
            {
                s_free.Push(block);
                return;
            }
        }

        NativeMemory.Free((void*)block);
        Interlocked.Add(ref s_held, -BlockSize);
    }
}
