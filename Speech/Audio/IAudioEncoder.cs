using System.Buffers;

namespace MitTts.Speech.Audio;

/// <summary>One output format: turns 16-bit mono PCM into that format's bytes, whole or chunk by chunk.</summary>
public interface IAudioEncoder
{
    /// <summary>The format's name in the API (<c>wav</c>, <c>pcm</c>, <c>mp3</c>, <c>ogg</c>, <c>mulaw</c>, <c>alaw</c>).</summary>
    string Format { get; }

    /// <summary>The HTTP Content-Type of the encoded audio.</summary>
    string ContentType { get; }

    /// <summary>The file extension of a download.</summary>
    string FileExtension { get; }

    /// <summary>The only input rate the format takes (8000 for G.711), or null when any rate is encoded as is.</summary>
    int? RequiredSampleRate { get; }

    /// <summary>Starts one stream of audio at <paramref name="sampleRate"/>; its chunks joined in order form one valid file.</summary>
    IAudioEncoderStream CreateStream(int sampleRate, AudioEncoderOptions? options = null);

    /// <summary>Encodes a whole utterance, known in full, into <paramref name="output"/> (exact headers, length tags).</summary>
    void EncodeWhole(ReadOnlySpan<short> samples, int sampleRate, IBufferWriter<byte> output, AudioEncoderOptions? options = null);
}

/// <summary>One audio stream being encoded: <see cref="Begin"/>, any number of <see cref="Write"/>, then <see cref="Complete"/>.</summary>
/// <remarks>Each call writes the bytes that are ready to its output, so a caller can send them on at once.</remarks>
public interface IAudioEncoderStream : IDisposable
{
    /// <summary>The rate of the PCM this stream takes, in Hz.</summary>
    int SampleRate { get; }

    /// <summary>Writes the headers of the stream.</summary>
    void Begin(IBufferWriter<byte> output);

    /// <summary>Encodes the next samples, writing whatever complete output they make.</summary>
    void Write(ReadOnlySpan<short> samples, IBufferWriter<byte> output);

    /// <summary>Encodes what is still buffered and closes the stream.</summary>
    void Complete(IBufferWriter<byte> output);
}

/// <summary>Encoder settings: <see cref="BitrateKbps"/> for lossy formats (null: the format's default), and
/// <see cref="TotalSamples"/> when the whole length is known up front (exact WAV header, MP3 length tag).</summary>
public sealed record AudioEncoderOptions(int? BitrateKbps = null, long? TotalSamples = null)
{
    public static AudioEncoderOptions Default { get; } = new();
}
