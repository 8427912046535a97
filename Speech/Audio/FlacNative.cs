using System.Runtime.InteropServices;

namespace MitTts.Speech.Audio;

/// <summary>The few functions of libFLAC (Debian <c>libflac12</c>) the FLAC encoder uses.</summary>
internal static unsafe partial class FlacNative
{
    private const string Library = "libFLAC.so.12";

    public const int InitOk = 0;
    public const int WriteOk = 0;
    public const int WriteFatalError = 1;

    [LibraryImport(Library)]
    public static partial FlacEncoderHandle FLAC__stream_encoder_new();

    [LibraryImport(Library)]
    public static partial void FLAC__stream_encoder_delete(IntPtr encoder);

    [LibraryImport(Library)]
    public static partial int FLAC__stream_encoder_set_channels(FlacEncoderHandle encoder, uint channels);

    [LibraryImport(Library)]
    public static partial int FLAC__stream_encoder_set_bits_per_sample(FlacEncoderHandle encoder, uint bits);

    [LibraryImport(Library)]
    public static partial int FLAC__stream_encoder_set_sample_rate(FlacEncoderHandle encoder, uint sampleRate);

    [LibraryImport(Library)]
    public static partial int FLAC__stream_encoder_set_compression_level(FlacEncoderHandle encoder, uint level);

    [LibraryImport(Library)]
    public static partial int FLAC__stream_encoder_set_blocksize(FlacEncoderHandle encoder, uint blocksize);

    [LibraryImport(Library)]
    public static partial int FLAC__stream_encoder_set_total_samples_estimate(FlacEncoderHandle encoder, ulong samples);

    /// <summary>Starts encoding to <paramref name="write"/> (no seek, tell or metadata callbacks: a stream, its header written once).</summary>
    [LibraryImport(Library)]
    public static partial int FLAC__stream_encoder_init_stream(
        FlacEncoderHandle encoder,
        delegate* unmanaged<IntPtr, byte*, nuint, uint, uint, IntPtr, int> write,
        IntPtr seek,
        IntPtr tell,
        IntPtr metadata,
        IntPtr clientData);

    [LibraryImport(Library)]
    public static partial int FLAC__stream_encoder_process_interleaved(FlacEncoderHandle encoder, int* buffer, uint samples);

    [LibraryImport(Library)]
    public static partial int FLAC__stream_encoder_finish(FlacEncoderHandle encoder);

    [LibraryImport(Library)]
    public static partial int FLAC__stream_encoder_get_state(FlacEncoderHandle encoder);

    /// <summary>Throws unless a libFLAC call that returns a boolean succeeded.</summary>
    public static void Check(FlacEncoderHandle encoder, int ok, string operation)
    {
        if (ok == 0)
        {
            throw new InvalidOperationException($"libFLAC {operation} failed (encoder state {FLAC__stream_encoder_get_state(encoder)}).");
        }
    }
}

/// <summary>Owns one <c>FLAC__StreamEncoder</c>; releasing it deletes the encoder.</summary>
internal sealed class FlacEncoderHandle : SafeHandle
{
    public FlacEncoderHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        FlacNative.FLAC__stream_encoder_delete(handle);
        return true;
    }
}
