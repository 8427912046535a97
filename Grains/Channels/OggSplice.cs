using System.Buffers;
using System.Buffers.Binary;
using MitTts.Speech.Audio;

namespace MitTts.Grains.Channels;

/// <summary>Keeps a task's Ogg/Opus stream one logical stream across renderings. A rendering that replaces a lost one (after a failover)
/// starts again at the interrupted sentence and is not byte-identical to the first (its pages fall elsewhere, its length differs
/// slightly), so it cannot be cut at a byte: its packets are dropped up to the granule the reader already has, and what follows is
/// paged again with the reader's next page number and granules counted on from the reader's.</summary>
/// <remarks>Pieces hold whole pages (the encoder flushes a page at the end of every write). Until a replacement starts, pages pass
/// through unchanged and are only counted.</remarks>
public static class OggSplice
{
    private const int HeaderLength = 27;

    /// <summary>Where the reader's stream stands: pages it has, the granule of the last one, and, once a replacement rendering has
    /// started, the granule that rendering's last page had (-1 until it has sent one).</summary>
    public readonly record struct State(int Pages, long Granule, bool Replacing = false, long SourceGranule = -1);

    /// <summary>The reader's continuation of <paramref name="pages"/> (the same array when nothing changes), the new state, and the share
    /// of the audio packets kept (1 when nothing changes).</summary>
    public static (byte[] Pages, State State, double Kept) Continue(byte[] pages, State state)
    {
        ArgumentNullException.ThrowIfNull(pages);
        if (!state.Replacing)
        {
            // The first rendering: count its pages, keep its bytes (the audio hot path: page headers are read, nothing is allocated).
            for (var offset = 0; IsPage(pages, offset); offset = NextPage(pages, offset))
            {
                state = state with { Pages = state.Pages + 1, Granule = BinaryPrimitives.ReadInt64LittleEndian(pages.AsSpan(offset + 6)) };
            }

            return (pages, state, 1.0);
        }

        var output = new ArrayBufferWriter<byte>(pages.Length + 64);
        var packets = new List<ReadOnlyMemory<byte>>();
        int audioPackets = 0, keptAudio = 0;
        foreach (var page in Pages(pages))
        {
            packets.Clear();
            var headers = IsHeader(page.Packets);
            var count = page.Packets.Count;
            var trim = page.EndOfStream && state.SourceGranule >= 0 ? state.SourceGranule + ((long)count * OggOpusEncoder.FrameSamples) - page.Granule : 0;
            for (var i = 0; i < count; i++)
            {
                // Every packet is one 20 ms frame: the i-th ends (count - 1 - i) frames before the page's granule.
                var end = page.Granule - ((long)(count - 1 - i) * OggOpusEncoder.FrameSamples);
                var keep = headers ? state.Pages < 2 : end > state.Granule;
                audioPackets += headers ? 0 : 1;
                if (keep)
                {
                    packets.Add(page.Packets[i]);
                    keptAudio += headers ? 0 : 1;
                }
            }

            state = state with { SourceGranule = page.Granule };
            if (packets.Count == 0)
            {
                continue;
            }

            var granule = headers ? 0 : state.Granule + ((long)packets.Count * OggOpusEncoder.FrameSamples) - Math.Max(0, trim);
            WritePage(output, page, packets, state.Pages, granule);
            state = state with { Pages = state.Pages + 1, Granule = granule };
        }

        return (output.WrittenSpan.ToArray(), state, audioPackets == 0 ? 1.0 : (double)keptAudio / audioPackets);
    }

    private readonly record struct Page(int Offset, byte Flags, long Granule, int Serial, List<ReadOnlyMemory<byte>> Packets)
    {
        public bool EndOfStream => (Flags & 0x04) != 0;
    }

    private static bool IsHeader(List<ReadOnlyMemory<byte>> packets) =>
        packets.Count > 0 && packets[0].Length >= 8 && (packets[0].Span.StartsWith("OpusHead"u8) || packets[0].Span.StartsWith("OpusTags"u8));

    private static List<Page> Pages(byte[] data)
    {
        var pages = new List<Page>();
        var offset = 0;
        while (IsPage(data, offset))
        {
            var segments = data[offset + 26];
            var body = offset + HeaderLength + segments;
            var packets = new List<ReadOnlyMemory<byte>>();
            var start = body;
            var length = 0;
            for (var s = 0; s < segments; s++)
            {
                var lace = data[offset + HeaderLength + s];
                length += lace;
                if (lace < 255)
                {
                    packets.Add(data.AsMemory(start, length));
                    start += length;
                    length = 0;
                }
            }

            pages.Add(new Page(offset, data[offset + 5], BinaryPrimitives.ReadInt64LittleEndian(data.AsSpan(offset + 6)),
                BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(offset + 14)), packets));
            offset = start + length;
        }

        return pages;
    }

    private static bool IsPage(byte[] data, int offset) => offset + HeaderLength <= data.Length && data.AsSpan(offset, 4).SequenceEqual("OggS"u8);

    /// <summary>Where the page at <paramref name="offset"/> ends: its header, its lacing table, then the lengths that table adds up to.</summary>
    private static int NextPage(byte[] data, int offset)
    {
        var segments = data[offset + 26];
        var end = offset + HeaderLength + segments;
        foreach (var lace in data.AsSpan(offset + HeaderLength, segments))
        {
            end += lace;
        }

        return end;
    }

    private static void WritePage(ArrayBufferWriter<byte> output, Page source, List<ReadOnlyMemory<byte>> packets, int sequence, long granule)
    {
        var writer = new OggPageWriter(source.Serial, (uint)sequence);
        foreach (var packet in packets)
        {
            writer.AddPacket(packet.Span);
        }

        writer.Flush(output, granule, beginOfStream: (source.Flags & 0x02) != 0, endOfStream: source.EndOfStream);
    }
}
