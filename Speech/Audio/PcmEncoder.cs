using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace MitTts.Speech.Audio;

/// <summary>Raw signed 16-bit little-endian mono PCM, no header.</summary>
public sealed class PcmEncoder : IAudioEncoder
{
    public string Format => "pcm";

    public string ContentType => "audio/L16";

    public string FileExtension => "pcm";

    public void EncodeWhole(ReadOnlySpan<short> samples, int sampleRate, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        WriteLittleEndian(samples, output);
    }

    internal static void WriteLittleEndian(ReadOnlySpan<short> samples, IBufferWriter<byte> output)
    {
        var length = samples.Length * sizeof(short);
        var destination = output.GetSpan(length)[..length];
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(samples).CopyTo(destination);
        }
        else
        {
            for (var i = 0; i < samples.Length; i++)
            {
                BinaryPrimitives.WriteInt16LittleEndian(destination[(i * 2)..], samples[i]);
            }
        }

        output.Advance(length);
    }
}
