using System.Buffers;
using System.Runtime.InteropServices;

namespace MitTts.Speech.Audio;

/// <summary>FLAC (lossless), 16-bit mono, by libFLAC (Debian <c>libflac12</c>) in its native stream format.</summary>
/// <remarks>A stream's STREAMINFO is written first, before its length is known (total samples 0: "unknown", as FLAC allows for a
/// stream); a whole file states its length there. Blocks of 1152 samples (48 ms at 24 kHz) keep a stream's frames coming as
/// the engine speaks; a block is written once it is full, the rest at the end.</remarks>
public sealed class FlacEncoder : AudioEncoder
{
    /// <summary>Samples per FLAC frame: short enough for streaming, within the streamable subset at every rate offered.</summary>
    public const int BlockSize = 1152;

    /// <summary>libFLAC's default level: as small as the higher ones for speech at a fraction of the time.</summary>
    public const int CompressionLevel = 5;

    public override string Format => "flac";

    public override string ContentType => "audio/flac";

    public override string FileExtension => "flac";

    public override string Description => "lossless FLAC";

    public override string Container => "flac";

    public override IAudioEncoderStream CreateStream(int sampleRate, AudioEncoderOptions? options = null)
    {
        CheckSampleRate(sampleRate);
        return new Stream(sampleRate, options?.TotalSamples);
    }

    /// <summary>A stream's STREAMINFO said "unknown" (0) for its total samples; the stored file states them, as a whole file does.</summary>
    /// <remarks>STREAMINFO is the first block, its 34 bytes right after "fLaC" and the 4-byte block header; the total is 36 bits
    /// big-endian, the low nibble of its byte 13 and bytes 14 to 17. MD5 and frame sizes stay 0 ("unknown"), as in a whole file.</remarks>
    public override void FinishWhole(Span<byte> file, long samples)
    {
        const int StreamInfo = 8;
        if (file.Length < StreamInfo + 34 || !file.StartsWith("fLaC"u8) || (file[4] & 0x7F) != 0 || samples is < 0 or >= 1L << 36)
        {
            return;
        }

        var total = file[(StreamInfo + 13)..];
        total[0] = (byte)((total[0] & 0xF0) | (int)(samples >> 32));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(total[1..], (uint)samples);
    }

    private sealed unsafe class Stream : IAudioEncoderStream
    {
        private readonly FlacEncoderHandle _flac;
        private readonly int _sampleRate;
        private GCHandle _self;
        private IBufferWriter<byte>? _output;
        private int[] _wide = [];
        private bool _started;

        public Stream(int sampleRate, long? totalSamples)
        {
            _sampleRate = sampleRate;
            _flac = FlacNative.FLAC__stream_encoder_new();
            if (_flac.IsInvalid)
            {
                throw new InvalidOperationException("libFLAC could not create an encoder.");
            }

            FlacNative.Check(_flac, FlacNative.FLAC__stream_encoder_set_channels(_flac, 1), "set_channels");
            FlacNative.Check(_flac, FlacNative.FLAC__stream_encoder_set_bits_per_sample(_flac, 16), "set_bits_per_sample");
            FlacNative.Check(_flac, FlacNative.FLAC__stream_encoder_set_sample_rate(_flac, (uint)sampleRate), "set_sample_rate");
            FlacNative.Check(_flac, FlacNative.FLAC__stream_encoder_set_compression_level(_flac, CompressionLevel), "set_compression_level");
            FlacNative.Check(_flac, FlacNative.FLAC__stream_encoder_set_blocksize(_flac, BlockSize), "set_blocksize");
            if (totalSamples is { } total)
            {
                FlacNative.Check(_flac, FlacNative.FLAC__stream_encoder_set_total_samples_estimate(_flac, (ulong)total), "set_total_samples_estimate");
            }
        }

        public int SampleRate => _sampleRate;

        public void Begin(IBufferWriter<byte> output)
        {
            _self = GCHandle.Alloc(this);
            _output = output;
            var status = FlacNative.FLAC__stream_encoder_init_stream(_flac, &OnWrite, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, GCHandle.ToIntPtr(_self));
            _output = null;
            if (status != FlacNative.InitOk)
            {
                throw new InvalidOperationException($"libFLAC could not start a stream at {_sampleRate} Hz (init status {status}).");
            }

            _started = true;
        }

        public void Write(ReadOnlySpan<short> samples, IBufferWriter<byte> output)
        {
            if (samples.IsEmpty)
            {
                return;
            }

            if (_wide.Length < samples.Length)
            {
                if (_wide.Length > 0)
                {
                    ArrayPool<int>.Shared.Return(_wide);
                }

                _wide = ArrayPool<int>.Shared.Rent(samples.Length);
            }

            for (var i = 0; i < samples.Length; i++)
            {
                _wide[i] = samples[i];
            }

            _output = output;
            try
            {
                fixed (int* pcm = _wide)
                {
                    FlacNative.Check(_flac, FlacNative.FLAC__stream_encoder_process_interleaved(_flac, pcm, (uint)samples.Length), "process");
                }
            }
            finally
            {
                _output = null;
            }
        }

        public void Complete(IBufferWriter<byte> output)
        {
            _output = output;
            try
            {
                FlacNative.Check(_flac, FlacNative.FLAC__stream_encoder_finish(_flac), "finish");
            }
            finally
            {
                _output = null;
                _started = false;
            }
        }

        public void Dispose()
        {
            if (_started)
            {
                // Finishing writes the last frame; with no output it goes nowhere.
                _ = FlacNative.FLAC__stream_encoder_finish(_flac);
                _started = false;
            }

            _flac.Dispose();
            if (_self.IsAllocated)
            {
                _self.Free();
            }

            if (_wide.Length > 0)
            {
                ArrayPool<int>.Shared.Return(_wide);
                _wide = [];
            }
        }

        [UnmanagedCallersOnly]
        private static int OnWrite(IntPtr encoder, byte* buffer, nuint bytes, uint samples, uint currentFrame, IntPtr clientData)
        {
            if (GCHandle.FromIntPtr(clientData).Target is not Stream { _output: { } output })
            {
                return FlacNative.WriteOk;
            }

            try
            {
                output.Write(new ReadOnlySpan<byte>(buffer, checked((int)bytes)));
                return FlacNative.WriteOk;
            }
            catch (Exception)
            {
                // An exception must not cross into libFLAC: the call that wrote fails instead.
                return FlacNative.WriteFatalError;
            }
        }
    }
}
