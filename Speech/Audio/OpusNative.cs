using System.Runtime.InteropServices;

namespace MitTts.Speech.Audio;

/// <summary>The few functions of libopus (Debian <c>libopus0</c>) the Ogg/Opus encoder uses.</summary>
/// <remarks><c>opus_encoder_ctl</c> is variadic; each request takes one <c>opus_int32</c> or one pointer, which the
/// x86-64 and AArch64 Linux calling conventions pass exactly like a fixed second argument.</remarks>
internal static partial class OpusNative
{
    private const string Library = "libopus.so.0";

    public const int Ok = 0;
    public const int ApplicationVoip = 2048;
    public const int ApplicationAudio = 2049;
    public const int SetBitrateRequest = 4002;
    public const int SetVbrRequest = 4006;
    public const int SetComplexityRequest = 4010;
    public const int SetSignalRequest = 4024;
    public const int GetLookaheadRequest = 4027;
    public const int SignalVoice = 3001;

    [LibraryImport(Library)]
    public static partial OpusEncoderHandle opus_encoder_create(int sampleRate, int channels, int application, out int error);

    [LibraryImport(Library)]
    public static partial void opus_encoder_destroy(IntPtr encoder);

    [LibraryImport(Library)]
    public static unsafe partial int opus_encode(OpusEncoderHandle encoder, short* pcm, int frameSize, byte* data, int maxDataBytes);

    [LibraryImport(Library, EntryPoint = "opus_encoder_ctl")]
    public static partial int opus_encoder_ctl_set(OpusEncoderHandle encoder, int request, int value);

    [LibraryImport(Library, EntryPoint = "opus_encoder_ctl")]
    public static partial int opus_encoder_ctl_get(OpusEncoderHandle encoder, int request, out int value);

    [LibraryImport(Library)]
    public static partial IntPtr opus_strerror(int error);

    /// <summary>Throws with libopus's own message unless <paramref name="result"/> is a success (zero or a byte count).</summary>
    public static int Check(int result, string operation) => result >= Ok ? result : throw Failure(result, operation);

    /// <summary>The exception for libopus error code <paramref name="error"/>, with libopus's own message.</summary>
    public static InvalidOperationException Failure(int error, string operation) =>
        new($"libopus {operation} failed: {Marshal.PtrToStringAnsi(opus_strerror(error))} ({error}).");
}

/// <summary>Owns one <c>OpusEncoder</c>; releasing it destroys the encoder.</summary>
internal sealed class OpusEncoderHandle : SafeHandle
{
    public OpusEncoderHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        OpusNative.opus_encoder_destroy(handle);
        return true;
    }
}
