using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace MitTts.Speech.Audio;

/// <summary>Raw signed 16-bit little-endian mono PCM, no header.</summary>
public sealed class PcmEncoder : AudioEncoder
{
    public override string Format => "pcm";

    // Not audio/L16: RFC 2586 defines L16 as big-endian (network order), and these samples are little-endian.
    public override string ContentType => "audio/pcm";

    public override string FileExtension => "pcm";

    public override string Description => "raw 16-bit little-endian PCM";

    public override string Container => "raw";

    public override IAudioEncoderStream CreateStream(int sampleRate, AudioEncoderOptions? options = null)
    {
        CheckSampleRate(sampleRate);
        return new Stream(sampleRate);
    }

    internal static void WriteLittleEndian(ReadOnlySpan<short> samples, IBufferWriter<byte> output)
    {
        if (samples.IsEmpty)
        {
            return;
        }

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

    private sealed class Stream(int sampleRate) : IAudioEncoderStream
    {
        public int SampleRate => sampleRate;

        public void Begin(IBufferWriter<byte> output)
        {
        }

        public void Write(ReadOnlySpan<short> samples, IBufferWriter<byte> output) => WriteLittleEndian(samples, output);

        public void Complete(IBufferWriter<byte> output)
        {
        }

        public void Dispose()
        {
        }
    }
}
