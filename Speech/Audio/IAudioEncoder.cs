using System.Buffers;

namespace MitTts.Speech.Audio;

/// <summary>One output format: turns 16-bit mono PCM into that format's bytes.</summary>
public interface IAudioEncoder
{
    /// <summary>The format's name in the API (<c>wav</c>, <c>pcm</c>).</summary>
    string Format { get; }

    /// <summary>The HTTP Content-Type of the encoded audio.</summary>
    string ContentType { get; }

    /// <summary>The file extension used in audio URLs.</summary>
    string FileExtension { get; }

    /// <summary>Encodes a whole utterance, known in full, into <paramref name="output"/>.</summary>
    void EncodeWhole(ReadOnlySpan<short> samples, int sampleRate, IBufferWriter<byte> output);
}
