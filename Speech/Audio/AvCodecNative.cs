using System.Runtime.InteropServices;

namespace MitTts.Speech.Audio;

/// <summary>The few functions of FFmpeg 5.1's libavcodec (Debian <c>libavcodec59</c>) and libavutil (<c>libavutil57</c>) the AAC encoder uses.</summary>
/// <remarks>Settings go through AVOptions, never the codec context's struct. Three structs are read or written at fixed offsets because
/// no function reaches those fields: AVFrame (data, nb_samples, format, ch_layout), AVPacket (data, size) and AVCodecParameters
/// (codec_type, codec_id, format: the codec context has no AVOption for its sample format in 5.1). The offsets are those of the sonames
/// bound here (measured with <c>offsetof</c> against Debian's 5.1 headers); FFmpeg only appends to these structs within a major version,
/// and <see cref="CheckFrameLayout"/> refuses a library whose fresh frame does not look as expected.</remarks>
internal static unsafe partial class AvCodecNative
{
    private const string Codec = "libavcodec.so.59";
    private const string Util = "libavutil.so.57";

    public const int MediaTypeAudio = 1;
    public const int CodecIdAac = 0x15000 + 2;
    public const int SampleFormatFloatPlanar = 8;
    public const int ProfileAacLow = 1;
    public const int ErrorAgain = -11;
    public const int ErrorEof = -0x20464F45; // FFERRTAG('E','O','F',' ')

    // AVFrame (libavutil 57).
    public const int FrameData = 0;
    public const int FrameExtendedData = 96;
    public const int FrameNbSamples = 112;
    public const int FrameFormat = 116;
    public const int FrameChLayout = 448;

    // AVPacket (libavcodec 59).
    public const int PacketData = 24;
    public const int PacketSize = 32;

    // AVCodecParameters (libavcodec 59).
    public const int ParametersCodecType = 0;
    public const int ParametersCodecId = 4;
    public const int ParametersFormat = 28;

    [LibraryImport(Codec, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr avcodec_find_encoder_by_name(string name);

    [LibraryImport(Codec)]
    public static partial AvCodecContextHandle avcodec_alloc_context3(IntPtr codec);

    [LibraryImport(Codec)]
    public static partial void avcodec_free_context(IntPtr* context);

    [LibraryImport(Codec)]
    public static partial IntPtr avcodec_parameters_alloc();

    [LibraryImport(Codec)]
    public static partial void avcodec_parameters_free(IntPtr* parameters);

    [LibraryImport(Codec)]
    public static partial int avcodec_parameters_to_context(AvCodecContextHandle context, IntPtr parameters);

    [LibraryImport(Codec)]
    public static partial int avcodec_open2(AvCodecContextHandle context, IntPtr codec, IntPtr options);

    [LibraryImport(Codec)]
    public static partial int avcodec_send_frame(AvCodecContextHandle context, IntPtr frame);

    [LibraryImport(Codec)]
    public static partial int avcodec_receive_packet(AvCodecContextHandle context, IntPtr packet);

    [LibraryImport(Codec)]
    public static partial IntPtr av_packet_alloc();

    [LibraryImport(Codec)]
    public static partial void av_packet_free(IntPtr* packet);

    [LibraryImport(Codec)]
    public static partial void av_packet_unref(IntPtr packet);

    [LibraryImport(Util)]
    public static partial IntPtr av_frame_alloc();

    [LibraryImport(Util)]
    public static partial void av_frame_free(IntPtr* frame);

    [LibraryImport(Util)]
    public static partial int av_frame_get_buffer(IntPtr frame, int align);

    [LibraryImport(Util)]
    public static partial int av_frame_make_writable(IntPtr frame);

    [LibraryImport(Util)]
    public static partial void av_channel_layout_default(IntPtr layout, int channels);

    [LibraryImport(Util, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int av_opt_set(AvCodecContextHandle target, string name, string value, int searchFlags);

    [LibraryImport(Util, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int av_opt_set_int(AvCodecContextHandle target, string name, long value, int searchFlags);

    [LibraryImport(Util, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int av_opt_get_int(AvCodecContextHandle target, string name, int searchFlags, out long value);

    public const int LogLevelError = 16;

    /// <summary>FFmpeg's log level, for the whole process: FFmpeg logs to stderr, and at its default level the aac encoder reports
    /// its quantizer average on every close.</summary>
    [LibraryImport(Util)]
    public static partial void av_log_set_level(int level);

    [LibraryImport(Util)]
    public static partial int av_strerror(int error, byte* buffer, nuint size);

    /// <summary>Throws, naming the call and FFmpeg's message, when <paramref name="result"/> is an error code.</summary>
    public static int Check(int result, string operation)
    {
        if (result < 0)
        {
            throw new InvalidOperationException($"libavcodec {operation} failed: {Message(result)} ({result}).");
        }

        return result;
    }

    /// <summary>Throws unless a frame fresh from <c>av_frame_alloc</c> has the defaults of the layout the offsets above describe.</summary>
    public static void CheckFrameLayout(IntPtr frame)
    {
        var p = (byte*)frame;
        if (*(int*)(p + FrameFormat) != -1 || *(IntPtr*)(p + FrameExtendedData) != frame || *(int*)(p + FrameNbSamples) != 0)
        {
            throw new InvalidOperationException("libavutil.so.57's AVFrame is not laid out as FFmpeg 5.1's: the AAC encoder cannot use it.");
        }
    }

    private static string Message(int error)
    {
        var buffer = stackalloc byte[128];
        return av_strerror(error, buffer, 128) == 0 ? Marshal.PtrToStringUTF8((IntPtr)buffer) ?? "unknown error" : "unknown error";
    }
}

/// <summary>Owns one <c>AVCodecContext</c>; releasing it frees the context.</summary>
internal sealed unsafe class AvCodecContextHandle : SafeHandle
{
    public AvCodecContextHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        var context = handle;
        AvCodecNative.avcodec_free_context(&context);
        return true;
    }
}

/// <summary>Owns one <c>AVFrame</c> or <c>AVPacket</c> (and what it references); releasing it frees it.</summary>
internal sealed unsafe class AvBufferHandle : SafeHandle
{
    private readonly bool _packet;

    private AvBufferHandle(IntPtr pointer, bool packet)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle(pointer);
        _packet = packet;
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>A new, empty frame.</summary>
    public static AvBufferHandle Frame() => Valid(new AvBufferHandle(AvCodecNative.av_frame_alloc(), packet: false), "av_frame_alloc");

    /// <summary>A new, empty packet.</summary>
    public static AvBufferHandle Packet() => Valid(new AvBufferHandle(AvCodecNative.av_packet_alloc(), packet: true), "av_packet_alloc");

    protected override bool ReleaseHandle()
    {
        var pointer = handle;
        if (_packet)
        {
            AvCodecNative.av_packet_free(&pointer);
        }
        else
        {
            AvCodecNative.av_frame_free(&pointer);
        }

        return true;
    }

    private static AvBufferHandle Valid(AvBufferHandle buffer, string operation) =>
        buffer.IsInvalid ? throw new InvalidOperationException($"libavcodec {operation} failed: out of memory.") : buffer;
}
