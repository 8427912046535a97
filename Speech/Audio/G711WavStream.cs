using System.Buffers;
using System.Buffers.Binary;

namespace MitTts.Speech.Audio;

/// <summary>G.711 (mu-law or A-law) at 8 kHz in a WAVE container: 8-bit samples after a 58-byte header.</summary>
/// <remarks>The header (fmt with cbSize, fact, data) is what ffmpeg, sox and NAudio expect for non-PCM WAVE; streamed,
/// the RIFF and data sizes are 0xFFFFFFFF like streamed PCM WAV and the fact chunk's sample count is 0.</remarks>
internal sealed class G711WavStream(ushort formatTag, Func<short, byte> encodeSample, long? totalSamples) : IAudioEncoderStream
{
    public const int Rate = 8000;
    public const ushort MuLawTag = 7;
    public const ushort ALawTag = 6;
    public const int HeaderLength = 58;

    public int SampleRate => Rate;

    /// <summary>The real RIFF, fact and data sizes of a finished stream joined into one file (one byte per sample).</summary>
    public static void SetLengths(Span<byte> file)
    {
        WavEncoder.SetLengths(file);
        if (file.Length >= HeaderLength && file[38..].StartsWith("fact"u8))
        {
            BinaryPrimitives.WriteUInt32LittleEndian(file[46..], (uint)(file.Length - HeaderLength));
        }
    }

    public void Begin(IBufferWriter<byte> output)
    {
        var header = output.GetSpan(HeaderLength)[..HeaderLength];
        var dataLength = totalSamples is { } total ? (uint)total : WavEncoder.UnknownLength;
        "RIFF"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], dataLength == WavEncoder.UnknownLength ? dataLength : HeaderLength - 8 + dataLength);
        "WAVE"u8.CopyTo(header[8..]);
        "fmt "u8.CopyTo(header[12..]);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], 18);
        BinaryPrimitives.WriteUInt16LittleEndian(header[20..], formatTag);
        BinaryPrimitives.WriteInt16LittleEndian(header[22..], 1);
        BinaryPrimitives.WriteInt32LittleEndian(header[24..], Rate);
        BinaryPrimitives.WriteInt32LittleEndian(header[28..], Rate);
        BinaryPrimitives.WriteInt16LittleEndian(header[32..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(header[34..], 8);
        BinaryPrimitives.WriteInt16LittleEndian(header[36..], 0);
        "fact"u8.CopyTo(header[38..]);
        BinaryPrimitives.WriteInt32LittleEndian(header[42..], 4);
        // Streamed, the fact chunk's sample count is 0 ("not known"): ffmpeg takes a count of 0xFFFFFFFF literally (a
        // duration of 149 hours) but estimates the length from the bytes it has when the count is 0.
        BinaryPrimitives.WriteUInt32LittleEndian(header[46..], dataLength == WavEncoder.UnknownLength ? 0 : dataLength);
        "data"u8.CopyTo(header[50..]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[54..], dataLength);
        output.Advance(HeaderLength);
    }

    public void Write(ReadOnlySpan<short> samples, IBufferWriter<byte> output)
    {
        if (samples.IsEmpty)
        {
            return;
        }

        var destination = output.GetSpan(samples.Length);
        for (var i = 0; i < samples.Length; i++)
        {
            destination[i] = encodeSample(samples[i]);
        }

        output.Advance(samples.Length);
    }

    public void Complete(IBufferWriter<byte> output)
    {
    }

    public void Dispose()
    {
    }
}
