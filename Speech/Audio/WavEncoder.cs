using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace MitTts.Speech.Audio;

/// <summary>RIFF/WAVE, 16-bit PCM mono: a 44-byte canonical header followed by the samples.</summary>
public sealed class WavEncoder : IAudioEncoder
{
    public const int HeaderLength = 44;

    public string Format => "wav";

    public string ContentType => "audio/wav";

    public string FileExtension => "wav";

    public void EncodeWhole(ReadOnlySpan<short> samples, int sampleRate, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var dataLength = samples.Length * sizeof(short);
        WriteHeader(output.GetSpan(HeaderLength), sampleRate, (uint)dataLength);
        output.Advance(HeaderLength);
        PcmEncoder.WriteLittleEndian(samples, output);
    }

    /// <summary>Writes the canonical 44-byte header for <paramref name="dataLength"/> bytes of 16-bit mono PCM.</summary>
    public static void WriteHeader(Span<byte> header, int sampleRate, uint dataLength)
    {
        const short channels = 1;
        const short bitsPerSample = 16;
        const short blockAlign = channels * bitsPerSample / 8;

        "RIFF"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], 36 + dataLength);
        "WAVE"u8.CopyTo(header[8..]);
        "fmt "u8.CopyTo(header[12..]);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], 16);
        BinaryPrimitives.WriteInt16LittleEndian(header[20..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(header[22..], channels);
        BinaryPrimitives.WriteInt32LittleEndian(header[24..], sampleRate);
        BinaryPrimitives.WriteInt32LittleEndian(header[28..], sampleRate * blockAlign);
        BinaryPrimitives.WriteInt16LittleEndian(header[32..], blockAlign);
        BinaryPrimitives.WriteInt16LittleEndian(header[34..], bitsPerSample);
        "data"u8.CopyTo(header[36..]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[40..], dataLength);
    }
}
