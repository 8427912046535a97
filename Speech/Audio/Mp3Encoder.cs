using System.Buffers;
using System.Buffers.Binary;

namespace MitTts.Speech.Audio;

/// <summary>MPEG-1/2/2.5 Layer III, mono, constant bitrate, by libmp3lame.</summary>
/// <remarks>Streamed, frames go out as lame finishes them. Encoded whole, the file starts with a LAME "Info" frame carrying
/// the frame count and the encoder delay and padding, so ffmpeg and gapless players decode exactly the source's length.</remarks>
public sealed class Mp3Encoder : AudioEncoder
{
    /// <summary>Mono speech at 64 kbps is transparent enough and valid for every MPEG version.</summary>
    public const int DefaultBitrateKbps = 64;

    /// <summary>Bitrates a request may ask for. MPEG-2 (16, 22.05, 24 kHz) stops at 160 kbps and MPEG-2.5 (8 kHz) at 64, where lame
    /// would round a higher one down: a request that names such a rate may not ask for more, and one that does not is encoded at
    /// the lowest MPEG-1 rate above the voice's (44.1 or 48 kHz).</summary>
    private static readonly AudioBitrates s_bitrates = AudioBitrates.OneOf([32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320], DefaultBitrateKbps) with
    {
        MaximumKbpsByRate = new Dictionary<int, int> { [8000] = 64, [11025] = 64, [12000] = 64, [16000] = 160, [22050] = 160, [24000] = 160 },
    };

    public override string Format => "mp3";

    public override string ContentType => "audio/mpeg";

    public override string FileExtension => "mp3";

    public override string Description => "MPEG Layer III audio";

    public override string Container => "mpeg";

    public override AudioBitrates Bitrates => s_bitrates;

    public override IAudioEncoderStream CreateStream(int sampleRate, AudioEncoderOptions? options = null)
    {
        CheckSampleRate(sampleRate);
        options ??= AudioEncoderOptions.Default;
        return new Stream(sampleRate, options.BitrateKbps ?? DefaultBitrateKbps, options.TotalSamples);
    }

    private sealed class Stream : IAudioEncoderStream
    {
        private readonly LameHandle _lame;
        private readonly int _sampleRate;
        private readonly long? _totalSamples;
        private readonly ArrayBufferWriter<byte>? _whole;
        private byte[] _mp3 = [];
        private long _samples;

        public Stream(int sampleRate, int bitrateKbps, long? totalSamples)
        {
            _sampleRate = sampleRate;
            _totalSamples = totalSamples;
            _lame = LameNative.lame_init();
            if (_lame.IsInvalid)
            {
                throw new InvalidOperationException("lame_init failed.");
            }

            LameNative.lame_set_in_samplerate(_lame, sampleRate);
            LameNative.lame_set_out_samplerate(_lame, sampleRate);
            LameNative.lame_set_num_channels(_lame, 1);
            LameNative.lame_set_mode(_lame, LameNative.ModeMono);
            LameNative.lame_set_VBR(_lame, LameNative.VbrOff);
            LameNative.lame_set_brate(_lame, bitrateKbps);
            LameNative.lame_set_quality(_lame, 5);

            // lame's own tag needs a seekable file; the Info frame is written here instead.
            LameNative.lame_set_bWriteVbrTag(_lame, 0);
            if (LameNative.lame_init_params(_lame) < 0)
            {
                _lame.Dispose();
                throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "libmp3lame does not take this sample rate.");
            }

            if (totalSamples is not null)
            {
                _whole = new ArrayBufferWriter<byte>();
            }
        }

        public int SampleRate => _sampleRate;

        public void Begin(IBufferWriter<byte> output)
        {
        }

        public unsafe void Write(ReadOnlySpan<short> samples, IBufferWriter<byte> output)
        {
            if (samples.IsEmpty)
            {
                return;
            }

            _samples += samples.Length;
            var capacity = (int)(1.25 * samples.Length) + 7200;
            Ensure(capacity);
            int written;
            fixed (short* pcm = samples)
            fixed (byte* mp3 = _mp3)
            {
                written = LameNative.lame_encode_buffer(_lame, pcm, pcm, samples.Length, mp3, _mp3.Length);
            }

            Emit(written, output);
        }

        public unsafe void Complete(IBufferWriter<byte> output)
        {
            Ensure(7200);
            int written;
            fixed (byte* mp3 = _mp3)
            {
                written = LameNative.lame_encode_flush(_lame, mp3, _mp3.Length);
            }

            Emit(written, output);
            if (_whole is not null)
            {
                WriteInfoFrame(output, _whole.WrittenCount);
                output.Write(_whole.WrittenSpan);
            }
        }

        public void Dispose()
        {
            _lame.Dispose();
            if (_mp3.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_mp3);
                _mp3 = [];
            }
        }

        private void Emit(int written, IBufferWriter<byte> output)
        {
            if (written < 0)
            {
                throw new InvalidOperationException($"libmp3lame failed with {written}.");
            }

            (_whole ?? output).Write(_mp3.AsSpan(0, written));
        }

        private void Ensure(int capacity)
        {
            if (_mp3.Length < capacity)
            {
                if (_mp3.Length > 0)
                {
                    ArrayPool<byte>.Shared.Return(_mp3);
                }

                _mp3 = ArrayPool<byte>.Shared.Rent(capacity);
            }
        }

        /// <summary>A Xing "Info" frame with the LAME extension: frame count, byte count, TOC, encoder delay and padding.</summary>
        private void WriteInfoFrame(IBufferWriter<byte> output, int audioBytes)
        {
            var rate = LameNative.lame_get_out_samplerate(_lame);
            var samplesPerFrame = LameNative.lame_get_framesize(_lame);
            var frames = LameNative.lame_get_frameNum(_lame);
            var delay = LameNative.lame_get_encoder_delay(_lame);
            var bitrate = LameNative.lame_get_brate(_lame);
            var padding = Math.Clamp((frames * (long)samplesPerFrame) - delay - (_totalSamples ?? _samples), 0, 4095);

            var (versionBits, rateIndex, mpeg1) = rate switch
            {
                44100 => (3, 0, true),
                48000 => (3, 1, true),
                32000 => (3, 2, true),
                22050 => (2, 0, false),
                24000 => (2, 1, false),
                16000 => (2, 2, false),
                11025 => (0, 0, false),
                12000 => (0, 1, false),
                8000 => (0, 2, false),
                _ => throw new InvalidOperationException($"No MPEG sampling index for {rate} Hz."),
            };
            ReadOnlySpan<int> table = mpeg1
                ? [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
                : [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
            var sideInfo = mpeg1 ? 17 : 9;
            var tagOffset = 4 + sideInfo + 120;
            var needed = tagOffset + 36;

            // The Info frame may need a larger bitrate than the audio frames to hold the tag.
            var bitrateIndex = 1;
            var frameLength = 0;
            for (var i = 1; i < table.Length; i++)
            {
                bitrateIndex = i;
                frameLength = (mpeg1 ? 144000 : 72000) * table[i] / rate;
                if (table[i] >= bitrate && frameLength >= needed)
                {
                    break;
                }
            }

            var frame = output.GetSpan(frameLength)[..frameLength];
            frame.Clear();
            frame[0] = 0xFF;
            frame[1] = (byte)(0xE0 | (versionBits << 3) | (1 << 1) | 1);
            frame[2] = (byte)((bitrateIndex << 4) | (rateIndex << 2));
            frame[3] = 0xC0;

            var xing = frame[(4 + sideInfo)..];
            "Info"u8.CopyTo(xing);
            BinaryPrimitives.WriteInt32BigEndian(xing[4..], 0x0F);
            BinaryPrimitives.WriteInt32BigEndian(xing[8..], frames);
            BinaryPrimitives.WriteInt32BigEndian(xing[12..], frameLength + audioBytes);
            for (var i = 0; i < 100; i++)
            {
                xing[16 + i] = (byte)(i * 256 / 100);
            }

            BinaryPrimitives.WriteInt32BigEndian(xing[116..], 100);

            var lame = frame[tagOffset..];
            "LAME3.100"u8.CopyTo(lame);
            lame[9] = 0x01;
            lame[20] = (byte)Math.Min(bitrate, 255);
            lame[21] = (byte)(delay >> 4);
            lame[22] = (byte)(((delay & 0x0F) << 4) | (int)(padding >> 8));
            lame[23] = (byte)padding;
            BinaryPrimitives.WriteInt32BigEndian(lame[28..], frameLength + audioBytes);
            BinaryPrimitives.WriteUInt16BigEndian(lame[34..], Crc16(frame[..(tagOffset + 34)]));
            output.Advance(frameLength);
        }

        /// <summary>CRC-16/ARC, as the LAME tag uses.</summary>
        private static ushort Crc16(ReadOnlySpan<byte> data)
        {
            ushort crc = 0;
            foreach (var b in data)
            {
                crc ^= b;
                for (var bit = 0; bit < 8; bit++)
                {
                    crc = (crc & 1) != 0 ? (ushort)((crc >> 1) ^ 0xA001) : (ushort)(crc >> 1);
                }
            }

            return crc;
        }
    }
}
