using System.Runtime.InteropServices;

namespace MitTts.Speech.Audio;

/// <summary>The few functions of libmp3lame (Debian <c>libmp3lame0</c>) the MP3 encoder uses.</summary>
internal static partial class LameNative
{
    private const string Library = "libmp3lame.so.0";

    public const int ModeMono = 3;
    public const int VbrOff = 0;

    [LibraryImport(Library)]
    public static partial LameHandle lame_init();

    [LibraryImport(Library)]
    public static partial int lame_close(IntPtr gfp);

    [LibraryImport(Library)]
    public static partial int lame_set_in_samplerate(LameHandle gfp, int rate);

    [LibraryImport(Library)]
    public static partial int lame_set_out_samplerate(LameHandle gfp, int rate);

    [LibraryImport(Library)]
    public static partial int lame_set_num_channels(LameHandle gfp, int channels);

    [LibraryImport(Library)]
    public static partial int lame_set_mode(LameHandle gfp, int mode);

    [LibraryImport(Library)]
    public static partial int lame_set_brate(LameHandle gfp, int kbps);

    [LibraryImport(Library)]
    public static partial int lame_set_VBR(LameHandle gfp, int mode);

    [LibraryImport(Library)]
    public static partial int lame_set_quality(LameHandle gfp, int quality);

    [LibraryImport(Library)]
    public static partial int lame_set_bWriteVbrTag(LameHandle gfp, int write);

    [LibraryImport(Library)]
    public static partial int lame_init_params(LameHandle gfp);

    [LibraryImport(Library)]
    public static partial int lame_get_brate(LameHandle gfp);

    [LibraryImport(Library)]
    public static partial int lame_get_out_samplerate(LameHandle gfp);

    [LibraryImport(Library)]
    public static partial int lame_get_encoder_delay(LameHandle gfp);

    [LibraryImport(Library)]
    public static partial int lame_get_framesize(LameHandle gfp);

    [LibraryImport(Library)]
    public static partial int lame_get_frameNum(LameHandle gfp);

    [LibraryImport(Library)]
    public static unsafe partial int lame_encode_buffer(LameHandle gfp, short* left, short* right, int samples, byte* mp3, int mp3Size);

    [LibraryImport(Library)]
    public static unsafe partial int lame_encode_flush(LameHandle gfp, byte* mp3, int mp3Size);
}

/// <summary>Owns one <c>lame_global_flags</c>; closing it frees the encoder.</summary>
internal sealed class LameHandle : SafeHandle
{
    public LameHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle() => LameNative.lame_close(handle) == 0;
}
