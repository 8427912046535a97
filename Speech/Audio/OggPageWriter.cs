using System.Buffers;
using System.Buffers.Binary;

namespace MitTts.Speech.Audio;

/// <summary>Packs packets into Ogg pages (RFC 3533): lacing, page sequence numbers (from <paramref name="firstSequence"/>), the page CRC.</summary>
public sealed class OggPageWriter(int serial, uint firstSequence = 0)
{
    private const int HeaderLength = 27;
    private const int MaxSegments = 255;
    private static readonly uint[] s_crcTable = CreateCrcTable();

    private readonly byte[] _segments = new byte[MaxSegments];
    private readonly ArrayBufferWriter<byte> _body = new(4096);
    private int _segmentCount;
    private uint _sequence = firstSequence;

    public int PacketCount { get; private set; }

    /// <summary>Adds a whole packet to the current page; packets here are far below the 255-segment page limit.</summary>
    public void AddPacket(ReadOnlySpan<byte> packet)
    {
        var lacing = (packet.Length / 255) + 1;
        if (_segmentCount + lacing > MaxSegments)
        {
            throw new InvalidOperationException("Ogg page is full; flush before adding more packets.");
        }

        for (var i = 0; i < lacing - 1; i++)
        {
            _segments[_segmentCount++] = 255;
        }

        _segments[_segmentCount++] = (byte)(packet.Length % 255);
        _body.Write(packet);
        PacketCount++;
    }

    /// <summary>Writes the current page, whose last packet ends at <paramref name="granule"/>.</summary>
    public void Flush(IBufferWriter<byte> output, long granule, bool beginOfStream = false, bool endOfStream = false)
    {
        var length = HeaderLength + _segmentCount + _body.WrittenCount;
        var page = output.GetSpan(length)[..length];
        "OggS"u8.CopyTo(page);
        page[4] = 0;
        page[5] = (byte)((beginOfStream ? 0x02 : 0) | (endOfStream ? 0x04 : 0));
        BinaryPrimitives.WriteInt64LittleEndian(page[6..], granule);
        BinaryPrimitives.WriteInt32LittleEndian(page[14..], serial);
        BinaryPrimitives.WriteUInt32LittleEndian(page[18..], _sequence++);
        BinaryPrimitives.WriteUInt32LittleEndian(page[22..], 0);
        page[26] = (byte)_segmentCount;
        _segments.AsSpan(0, _segmentCount).CopyTo(page[HeaderLength..]);
        _body.WrittenSpan.CopyTo(page[(HeaderLength + _segmentCount)..]);
        BinaryPrimitives.WriteUInt32LittleEndian(page[22..], Crc(page));
        output.Advance(length);

        _segmentCount = 0;
        PacketCount = 0;
        _body.ResetWrittenCount();
    }

    private static uint Crc(ReadOnlySpan<byte> data)
    {
        uint crc = 0;
        foreach (var b in data)
        {
            crc = (crc << 8) ^ s_crcTable[(crc >> 24) ^ b];
        }

        return crc;
    }

    private static uint[] CreateCrcTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var r = i << 24;
            for (var bit = 0; bit < 8; bit++)
            {
                r = (r & 0x80000000) != 0 ? (r << 1) ^ 0x04C11DB7 : r << 1;
            }

            table[i] = r;
        }

        return table;
    }
}
