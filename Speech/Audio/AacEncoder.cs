using System.Buffers;
using System.Globalization;

namespace MitTts.Speech.Audio;

/// <summary>AAC-LC, mono, by FFmpeg's native <c>aac</c> encoder (Debian <c>libavcodec59</c>), each packet framed as ADTS.</summary>
/// <remarks>ADTS is AAC's stream form: every 1024-sample frame carries a 7-byte header, so a stream's chunks joined in order are one
/// file, and a whole file is the same bytes. ADTS has no gapless tag: decoders give back the encoder's 1024 samples of priming
/// before the audio and pad the end to a whole frame, <c>1024 × ceil((n + 1024) / 1024)</c> samples for <c>n</c> encoded.</remarks>
public sealed class AacEncoder : AudioEncoder
{
    /// <summary>Samples per AAC-LC frame; ADTS as written here carries one frame per header.</summary>
    public const int FrameSize = 1024;

    /// <summary>The encoder's delay: silence decoders give back before the first sample encoded.</summary>
    public const int Priming = 1024;

    /// <summary>Mono speech at 64 kbps is clean with AAC-LC; OpenAI's own aac is about this.</summary>
    public const int DefaultBitrateKbps = 64;

    private const int AdtsHeaderLength = 7;

    private static readonly AudioBitrates s_bitrates = AudioBitrates.Range(16, 256, DefaultBitrateKbps);

    private static readonly Lazy<bool> s_quiet = new(() =>
    {
        // Errors still reach stderr; the encoder's per-stream statistics do not.
        AvCodecNative.av_log_set_level(AvCodecNative.LogLevelError);
        return true;
    });

    public override string Format => "aac";

    public override string ContentType => "audio/aac";

    public override string FileExtension => "aac";

    public override string Description => "AAC-LC audio in ADTS";

    public override string Container => "adts";

    public override AudioBitrates Bitrates => s_bitrates;

    public override IAudioEncoderStream CreateStream(int sampleRate, AudioEncoderOptions? options = null)
    {
        CheckSampleRate(sampleRate);
        var rateIndex = SamplingIndex(sampleRate);
        _ = s_quiet.Value;
        return new Stream(sampleRate, rateIndex, options?.BitrateKbps ?? DefaultBitrateKbps);
    }

    /// <summary>The MPEG-4 sampling frequency index ADTS states, for the rates AAC defines.</summary>
    private static int SamplingIndex(int sampleRate) => sampleRate switch
    {
        96000 => 0,
        88200 => 1,
        64000 => 2,
        48000 => 3,
        44100 => 4,
        32000 => 5,
        24000 => 6,
        22050 => 7,
        16000 => 8,
        12000 => 9,
        11025 => 10,
        8000 => 11,
        7350 => 12,
        _ => throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "AAC takes 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200 or 96000 Hz."),
    };

    private sealed unsafe class Stream : IAudioEncoderStream
    {
        private readonly AvCodecContextHandle _context;
        private readonly AvBufferHandle _frame;
        private readonly AvBufferHandle _packet;
        private readonly int _sampleRate;
        private readonly int _rateIndex;
        private int _filled;
        private bool _flushed;

        public Stream(int sampleRate, int rateIndex, int bitrateKbps)
        {
            _sampleRate = sampleRate;
            _rateIndex = rateIndex;
            var codec = AvCodecNative.avcodec_find_encoder_by_name("aac");
            if (codec == IntPtr.Zero)
            {
                throw new InvalidOperationException("libavcodec has no aac encoder.");
            }

            _context = AvCodecNative.avcodec_alloc_context3(codec);
            _frame = AvBufferHandle.Frame();
            _packet = AvBufferHandle.Packet();
            try
            {
                if (_context.IsInvalid)
                {
                    throw new InvalidOperationException("libavcodec could not create an aac encoder.");
                }

                SetSampleFormat();

                // AAC-LC carries at most 6144 bits per channel per frame: a higher request is held to that (8 kHz: 48 kbps).
                var bitrate = Math.Min(bitrateKbps * 1000L, 6144L * sampleRate / FrameSize);
                AvCodecNative.Check(AvCodecNative.av_opt_set_int(_context, "ar", sampleRate, 0), "set ar");
                AvCodecNative.Check(AvCodecNative.av_opt_set(_context, "ch_layout", "mono", 0), "set ch_layout");
                AvCodecNative.Check(AvCodecNative.av_opt_set_int(_context, "b", bitrate, 0), "set b");
                AvCodecNative.Check(AvCodecNative.av_opt_set_int(_context, "profile", AvCodecNative.ProfileAacLow, 0), "set profile");
                AvCodecNative.Check(AvCodecNative.av_opt_set(_context, "time_base", string.Create(CultureInfo.InvariantCulture, $"1/{sampleRate}"), 0), "set time_base");
                AvCodecNative.Check(AvCodecNative.avcodec_open2(_context, codec, IntPtr.Zero), "avcodec_open2");
                AvCodecNative.Check(AvCodecNative.av_opt_get_int(_context, "frame_size", 0, out var frameSize), "get frame_size");
                if (frameSize != FrameSize)
                {
                    throw new InvalidOperationException($"libavcodec's aac encoder takes {frameSize}-sample frames, not {FrameSize}.");
                }

                var frame = (byte*)_frame.DangerousGetHandle();
                AvCodecNative.CheckFrameLayout((IntPtr)frame);
                *(int*)(frame + AvCodecNative.FrameNbSamples) = FrameSize;
                *(int*)(frame + AvCodecNative.FrameFormat) = AvCodecNative.SampleFormatFloatPlanar;
                AvCodecNative.av_channel_layout_default((IntPtr)(frame + AvCodecNative.FrameChLayout), 1);
                AvCodecNative.Check(AvCodecNative.av_frame_get_buffer((IntPtr)frame, 0), "av_frame_get_buffer");
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public int SampleRate => _sampleRate;

        private IntPtr Frame => _frame.DangerousGetHandle();

        public void Begin(IBufferWriter<byte> output)
        {
        }

        public void Write(ReadOnlySpan<short> samples, IBufferWriter<byte> output)
        {
            ThrowIfComplete();
            while (!samples.IsEmpty)
            {
                if (_filled == 0)
                {
                    // The encoder may still hold the last frame's buffer: writing goes to one it does not.
                    AvCodecNative.Check(AvCodecNative.av_frame_make_writable(Frame), "av_frame_make_writable");
                }

                var count = Math.Min(FrameSize - _filled, samples.Length);
                var planar = new Span<float>(*(float**)((byte*)Frame + AvCodecNative.FrameData) + _filled, count);
                for (var i = 0; i < count; i++)
                {
                    planar[i] = samples[i] * (1f / 32768f);
                }

                _filled += count;
                samples = samples[count..];
                if (_filled == FrameSize)
                {
                    Send(output);
                }
            }
        }

        public void Complete(IBufferWriter<byte> output)
        {
            ThrowIfComplete();
            if (_filled > 0)
            {
                Send(output);
            }

            _flushed = true;
            AvCodecNative.Check(AvCodecNative.avcodec_send_frame(_context, IntPtr.Zero), "avcodec_send_frame (flush)");
            Drain(output);
        }

        public void Dispose()
        {
            _packet.Dispose();
            _frame.Dispose();
            _context.Dispose();
        }

        private void ThrowIfComplete()
        {
            if (_flushed)
            {
                throw new InvalidOperationException("This AAC stream is complete.");
            }
        }

        /// <summary>The codec context has no AVOption for the sample format in FFmpeg 5.1: it comes from codec parameters.</summary>
        private void SetSampleFormat()
        {
            var parameters = AvCodecNative.avcodec_parameters_alloc();
            if (parameters == IntPtr.Zero)
            {
                throw new InvalidOperationException("libavcodec avcodec_parameters_alloc failed: out of memory.");
            }

            try
            {
                var p = (byte*)parameters;
                *(int*)(p + AvCodecNative.ParametersCodecType) = AvCodecNative.MediaTypeAudio;
                *(int*)(p + AvCodecNative.ParametersCodecId) = AvCodecNative.CodecIdAac;
                *(int*)(p + AvCodecNative.ParametersFormat) = AvCodecNative.SampleFormatFloatPlanar;
                AvCodecNative.Check(AvCodecNative.avcodec_parameters_to_context(_context, parameters), "avcodec_parameters_to_context");
            }
            finally
            {
                AvCodecNative.avcodec_parameters_free(&parameters);
            }
        }

        private void Send(IBufferWriter<byte> output)
        {
            *(int*)((byte*)Frame + AvCodecNative.FrameNbSamples) = _filled;
            _filled = 0;
            AvCodecNative.Check(AvCodecNative.avcodec_send_frame(_context, Frame), "avcodec_send_frame");
            Drain(output);
        }

        /// <summary>Writes every packet the encoder has ready, each behind its ADTS header.</summary>
        private void Drain(IBufferWriter<byte> output)
        {
            var packet = (byte*)_packet.DangerousGetHandle();
            while (true)
            {
                var result = AvCodecNative.avcodec_receive_packet(_context, (IntPtr)packet);
                if (result is AvCodecNative.ErrorAgain or AvCodecNative.ErrorEof)
                {
                    return;
                }

                AvCodecNative.Check(result, "avcodec_receive_packet");
                try
                {
                    var data = new ReadOnlySpan<byte>(*(byte**)(packet + AvCodecNative.PacketData), *(int*)(packet + AvCodecNative.PacketSize));
                    var length = AdtsHeaderLength + data.Length;
                    var frame = output.GetSpan(length);
                    WriteAdtsHeader(frame, length);
                    data.CopyTo(frame[AdtsHeaderLength..]);
                    output.Advance(length);
                }
                finally
                {
                    AvCodecNative.av_packet_unref((IntPtr)packet);
                }
            }
        }

        /// <summary>ADTS fixed and variable header, no CRC: MPEG-4, AAC-LC, this rate, one channel, one raw data block.</summary>
        private void WriteAdtsHeader(Span<byte> header, int frameLength)
        {
            const int profile = AvCodecNative.ProfileAacLow; // audio object type 2 (LC), minus one
            const int channels = 1;
            header[0] = 0xFF;
            header[1] = 0xF1;
            header[2] = (byte)((profile << 6) | (_rateIndex << 2) | (channels >> 2));
            header[3] = (byte)(((channels & 3) << 6) | (frameLength >> 11));
            header[4] = (byte)(frameLength >> 3);
            header[5] = (byte)(((frameLength & 7) << 5) | 0x1F);
            header[6] = 0xFC; // buffer fullness 0x7FF (variable rate), one raw data block
        }
    }
}
