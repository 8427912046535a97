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

    /// <summary>What the format is, in a few words a client reads in an error ("G.711 telephony audio").</summary>
    string Description { get; }

    /// <summary>The container of the encoded bytes: <c>riff</c> (WAVE), <c>raw</c>, <c>mpeg</c> (MP3 frames), <c>ogg</c>.</summary>
    string Container { get; }

    /// <summary>The output rates, in Hz and ascending, a request may ask for in this format.</summary>
    IReadOnlyList<int> SampleRates { get; }

    /// <summary>The only input rate the format takes (8000 for G.711), or null when any rate is encoded as is.</summary>
    int? RequiredSampleRate { get; }

    /// <summary>The bitrates the format takes and its default, or null when it has no bitrate to choose (PCM, G.711).</summary>
    AudioBitrates? Bitrates { get; }

    /// <summary>Whether the chunks of a stream can go to the client as they are encoded (each prefix is playable).</summary>
    bool Streams { get; }

    /// <summary>The rate of the delivered audio: <paramref name="requestedRate"/> when the request named one, else the format's
    /// own (G.711), else <paramref name="sourceRate"/>, the engine's, encoded as is, unless the format cannot carry
    /// <paramref name="bitrateKbps"/> there: then the lowest rate above it that can (MP3 at 320 kbps from 22050 Hz: 44100).</summary>
    int OutputRate(int? requestedRate, int sourceRate, int? bitrateKbps = null);

    /// <summary>Turns a finished stream's chunks, joined, into the format's whole file: the place to fix what a stream could
    /// not know when it began (WAVE's RIFF and data lengths, FLAC's total of <paramref name="samples"/>); formats whose stream
    /// already is the file leave it as is.</summary>
    /// <remarks>The way to store a streamed task's audio as a download; <see cref="EncodeWhole"/> already writes exact files.</remarks>
    void FinishWhole(Span<byte> file, long samples);

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

/// <summary>Encoder settings: <see cref="BitrateKbps"/> for lossy formats (null: the format's default),
/// <see cref="TotalSamples"/> when the whole length is known up front (exact WAV header, MP3 length tag), and
/// <see cref="StreamId"/>, a stable name of the stream (the task id) from which containers that number their streams
/// (the Ogg serial) derive that number, so encoding the same task twice gives the same bytes; null: a random number.</summary>
public sealed record AudioEncoderOptions(int? BitrateKbps = null, long? TotalSamples = null, string? StreamId = null)
{
    public static AudioEncoderOptions Default { get; } = new();
}

/// <summary>The bitrates, in kbps, a lossy format takes: any whole number from <see cref="MinimumKbps"/> to
/// <see cref="MaximumKbps"/>, or only those in <see cref="AllowedKbps"/> when it is not empty.</summary>
public sealed record AudioBitrates(int DefaultKbps, int MinimumKbps, int MaximumKbps, IReadOnlyList<int> AllowedKbps)
{
    /// <summary>Any whole kbps from <paramref name="minimumKbps"/> to <paramref name="maximumKbps"/>.</summary>
    public static AudioBitrates Range(int minimumKbps, int maximumKbps, int defaultKbps) => new(defaultKbps, minimumKbps, maximumKbps, []);

    /// <summary>Only the listed bitrates (ascending).</summary>
    public static AudioBitrates OneOf(IReadOnlyList<int> allowedKbps, int defaultKbps)
    {
        ArgumentNullException.ThrowIfNull(allowedKbps);
        return new(defaultKbps, allowedKbps[0], allowedKbps[^1], allowedKbps);
    }

    /// <summary>Whether a request may ask for <paramref name="kbps"/>.</summary>
    public bool Accepts(int kbps)
    {
        if (AllowedKbps.Count == 0)
        {
            return kbps >= MinimumKbps && kbps <= MaximumKbps;
        }

        foreach (var allowed in AllowedKbps)
        {
            if (allowed == kbps)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Where the format carries less at some output rates (MP3 at MPEG-2 rates: 160 kbps at most), the most it carries
    /// there, by rate; rates not listed carry <see cref="MaximumKbps"/>.</summary>
    public IReadOnlyDictionary<int, int>? MaximumKbpsByRate { get; init; }

    /// <summary>The most kbps the format carries at <paramref name="sampleRate"/>.</summary>
    public int MaximumAt(int sampleRate) =>
        MaximumKbpsByRate is { } byRate && byRate.TryGetValue(sampleRate, out var maximum) ? maximum : MaximumKbps;
}
