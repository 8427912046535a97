using System.Buffers;
using System.Buffers.Binary;

namespace MitTts.Speech.Audio;

/// <summary>RIFF/WAVE, 16-bit PCM mono: a 44-byte canonical header followed by the samples.</summary>
/// <remarks>Streamed (length unknown), the RIFF and data sizes are 0xFFFFFFFF, which browsers, ffmpeg and sox read as
/// "until the end of the stream"; encoded whole, the header holds the exact sizes.</remarks>
public sealed class WavEncoder : AudioEncoder
{
    public const int HeaderLength = 44;

    /// <summary>The size written into RIFF and data chunk headers when the length is not known yet.</summary>
    public const uint UnknownLength = uint.MaxValue;

    public override string Format => "wav";

    public override string ContentType => "audio/wav";

    public override string FileExtension => "wav";

    public override string Description => "16-bit PCM in a WAVE file";

    public override string Container => "riff";

    /// <summary>Streamed, the header says "unknown length"; the stored file gets the real RIFF and data sizes.</summary>
    public override void FinishWhole(Span<byte> file, long samples) => SetLengths(file);

    public override IAudioEncoderStream CreateStream(int sampleRate, AudioEncoderOptions? options = null)
    {
        CheckSampleRate(sampleRate);
        var dataLength = options?.TotalSamples is { } total ? (uint)(total * sizeof(short)) : UnknownLength;
        return new Stream(sampleRate, dataLength);
    }

    /// <summary>Fills in the real RIFF and data sizes of a finished streamed WAV (PCM or G.711), whose header said "unknown".</summary>
    /// <remarks>The stream itself cannot go back to fix its header; the stored copy of the whole file can. Callers should use
    /// <see cref="IAudioEncoder.FinishWhole"/> of the request's encoder, which knows whether its format needs this.</remarks>
    public static void SetLengths(Span<byte> file)
    {
        if (file.Length < 12 || !file.StartsWith("RIFF"u8) || !file[8..].StartsWith("WAVE"u8))
        {
            return;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(file[4..], (uint)(file.Length - 8));
        var offset = 12;
        while (offset + 8 <= file.Length)
        {
            var size = BinaryPrimitives.ReadUInt32LittleEndian(file[(offset + 4)..]);
            if (file[offset..].StartsWith("data"u8))
            {
                BinaryPrimitives.WriteUInt32LittleEndian(file[(offset + 4)..], (uint)(file.Length - offset - 8));
                return;
            }

            offset += 8 + (int)size + (int)(size & 1);
        }
    }

    /// <summary>Writes the canonical 44-byte header for <paramref name="dataLength"/> bytes of 16-bit mono PCM.</summary>
    public static void WriteHeader(Span<byte> header, int sampleRate, uint dataLength)
    {
        const short channels = 1;
        const short bitsPerSample = 16;
        const short blockAlign = channels * bitsPerSample / 8;

        "RIFF"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], dataLength == UnknownLength ? UnknownLength : 36 + dataLength);
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

    private sealed class Stream(int sampleRate, uint dataLength) : IAudioEncoderStream
    {
        public int SampleRate => sampleRate;

        public void Begin(IBufferWriter<byte> output)
        {
            WriteHeader(output.GetSpan(HeaderLength), sampleRate, dataLength);
            output.Advance(HeaderLength);
        }

        public void Write(ReadOnlySpan<short> samples, IBufferWriter<byte> output) => PcmEncoder.WriteLittleEndian(samples, output);

        public void Complete(IBufferWriter<byte> output)
        {
        }

        public void Dispose()
        {
        }
    }
}
