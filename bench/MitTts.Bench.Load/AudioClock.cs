using System.Buffers.Binary;

namespace MitTts.Bench.Load;

/// <summary>How many seconds of audio a stream's bytes carry, as a player would count them, fed frame by frame.</summary>
internal abstract class AudioClock
{
    /// <summary>The seconds of audio the bytes complete (0 for headers, or a page not yet whole).</summary>
    public abstract double Feed(ReadOnlySpan<byte> bytes);

    public static AudioClock For(string format, int sampleRate, int bitrateKbps) => format switch
    {
        "pcm" => new BytesClock(sampleRate * 2.0),
        "mp3" => new BytesClock(bitrateKbps * 1000 / 8.0),
        "ogg" => new OggClock(),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "pcm, mp3 or ogg"),
    };

    /// <summary>Constant bytes per second: s16le PCM, or CBR MP3 (exact to within one frame).</summary>
    private sealed class BytesClock(double bytesPerSecond) : AudioClock
    {
        public override double Feed(ReadOnlySpan<byte> bytes) => bytes.Length / bytesPerSecond;
    }

    /// <summary>Ogg/Opus: the granule position (48 kHz samples) of each complete page; every task is a new logical stream (its
    /// first page has the BOS flag) whose granule starts again at 0.</summary>
    private sealed class OggClock : AudioClock
    {
        private readonly List<byte> _pending = [];
        private long _granule;

        public override double Feed(ReadOnlySpan<byte> bytes)
        {
            foreach (var b in bytes)
            {
                _pending.Add(b);
            }

            long added = 0;
            var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending);
            var consumed = 0;
            while (span.Length - consumed >= 27)
            {
                var page = span[consumed..];
                if (!page.StartsWith("OggS"u8))
                {
                    throw new InvalidDataException("Ogg page out of sync");
                }

                int segments = page[26];
                if (page.Length < 27 + segments)
                {
                    break;
                }

                var length = 27 + segments;
                for (var i = 0; i < segments; i++)
                {
                    length += page[27 + i];
                }

                if (page.Length < length)
                {
                    break;
                }

                var granule = BinaryPrimitives.ReadInt64LittleEndian(page[6..]);
                if ((page[5] & 0x02) != 0)
                {
                    _granule = 0;
                }
                else if (granule > _granule)
                {
                    added += granule - _granule;
                    _granule = granule;
                }

                consumed += length;
            }

            _pending.RemoveRange(0, consumed);
            return added / 48000.0;
        }
    }
}
