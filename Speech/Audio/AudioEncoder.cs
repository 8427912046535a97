using System.Buffers;

namespace MitTts.Speech.Audio;

/// <summary>The shared shape of every format: whole-file encoding is one stream told its length up front.</summary>
public abstract class AudioEncoder : IAudioEncoder
{
    public abstract string Format { get; }

    public abstract string ContentType { get; }

    public abstract string FileExtension { get; }

    /// <summary>The output rates the API offers; a format that encodes any rate as is takes every one of them.</summary>
    public static IReadOnlyList<int> CommonSampleRates { get; } = [8000, 16000, 22050, 24000, 44100, 48000];

    public abstract string Description { get; }

    public abstract string Container { get; }

    private IReadOnlyList<int>? _sampleRates;

    public virtual IReadOnlyList<int> SampleRates => _sampleRates ??= RequiredSampleRate is { } required ? [required] : CommonSampleRates;

    public virtual int? RequiredSampleRate => null;

    public virtual AudioBitrates? Bitrates => null;

    public virtual bool Streams => true;

    public int OutputRate(int? requestedRate, int sourceRate, int? bitrateKbps = null) =>
        requestedRate ?? RequiredSampleRate ?? RateCarrying(sourceRate, bitrateKbps);

    private int RateCarrying(int sourceRate, int? bitrateKbps)
    {
        if (Bitrates is not { } bitrates || bitrateKbps is not { } kbps || bitrates.MaximumAt(sourceRate) >= kbps)
        {
            return sourceRate;
        }

        foreach (var rate in SampleRates)
        {
            if (rate > sourceRate && bitrates.MaximumAt(rate) >= kbps)
            {
                return rate;
            }
        }

        return sourceRate;
    }

    public virtual void FinishWhole(Span<byte> file, long samples)
    {
    }

    public abstract IAudioEncoderStream CreateStream(int sampleRate, AudioEncoderOptions? options = null);

    public void EncodeWhole(ReadOnlySpan<short> samples, int sampleRate, IBufferWriter<byte> output, AudioEncoderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        using var stream = CreateStream(sampleRate, (options ?? AudioEncoderOptions.Default) with { TotalSamples = samples.Length });
        stream.Begin(output);
        stream.Write(samples, output);
        stream.Complete(output);
    }

    /// <summary>Throws unless <paramref name="sampleRate"/> is one this format can carry.</summary>
    protected void CheckSampleRate(int sampleRate)
    {
        if (sampleRate <= 0 || (RequiredSampleRate is { } required && sampleRate != required))
        {
            throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, $"{Format} takes {(RequiredSampleRate is { } r ? $"{r} Hz" : "a positive rate")}.");
        }
    }
}
