using MitTts.Speech.Audio;
using MitTts.Tests.Support;

namespace MitTts.Tests.Speech.Audio;

/// <summary>Resampling, loudness and the speed/pitch DSP, on synthetic signals whose answers are known.</summary>
public sealed class AudioProcessingTests
{
    private static short[] Tone(double frequency, int rate, double seconds, double amplitude = 0.3) =>
        [.. Enumerable.Range(0, (int)(rate * seconds)).Select(i => (short)(amplitude * short.MaxValue * Math.Sin(2 * Math.PI * frequency * i / rate)))];

    [Theory]
    [InlineData(22050, 8000)]
    [InlineData(22050, 16000)]
    [InlineData(22050, 44100)]
    [InlineData(22050, 48000)]
    [InlineData(48000, 24000)]
    public void Resampling_keeps_the_length_and_the_pitch_of_a_tone(int from, int to)
    {
        var tone = Tone(440, from, 1.0);

        var resampled = StreamingResampler.ResampleWhole(tone, from, to);

        Assert.Equal(to, resampled.Length);
        Assert.Equal(440, AudioMeasures.ZeroCrossingFrequency(resampled, to), 3.0);
    }

    [Fact]
    public void Resampling_in_chunks_gives_the_same_samples_as_resampling_whole()
    {
        var tone = Tone(300, 22050, 0.5);
        var whole = StreamingResampler.ResampleWhole(tone, 22050, 16000);

        using var resampler = new StreamingResampler(22050, 16000);
        var chunked = new List<short>();
        var sizes = new[] { 1, 100, 7, 2048, 333 };
        var position = 0;
        for (var i = 0; position < tone.Length; i++)
        {
            var length = Math.Min(sizes[i % sizes.Length], tone.Length - position);
            chunked.AddRange(resampler.Process(tone.AsSpan(position, length)).ToArray());
            position += length;
        }

        chunked.AddRange(resampler.Flush().ToArray());

        Assert.Equal(whole, chunked.ToArray());
    }

    [Fact]
    public void A_converter_a_stream_used_before_gives_exactly_the_samples_of_a_new_one()
    {
        // Rates of this test's own, so no other test takes from or gives to their pool meanwhile.
        const int From = 22050, To = 44101;
        var noise = new short[5000];
        new Random(7).NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(noise.AsSpan()));

        // A stream that stops half way: its converter still holds the noise when it goes back.
        using (var earlier = new StreamingResampler(From, To))
        {
            earlier.Process(noise);
        }

        Assert.Equal(1, StreamingResampler.Pooled(From, To));
        using var reused = new StreamingResampler(From, To);
        Assert.Equal(0, StreamingResampler.Pooled(From, To));
        using var fresh = new StreamingResampler(From, To);

        var tone = Tone(300, From, 0.3);
        var fromReused = reused.Process(tone).ToArray().Concat(reused.Flush().ToArray()).ToArray();
        var fromFresh = fresh.Process(tone).ToArray().Concat(fresh.Flush().ToArray()).ToArray();
        Assert.Equal(StreamingResampler.WholeLength(tone.Length, From, To), fromFresh.Length);
        Assert.Equal(fromFresh, fromReused);
    }

    [Fact]
    public void Downsampling_removes_what_the_new_rate_cannot_carry()
    {
        // 6 kHz cannot exist at 8 kHz; sample dropping would fold it to 2 kHz at full level.
        var high = Tone(6000, 22050, 0.5);

        var resampled = StreamingResampler.ResampleWhole(high, 22050, 8000);

        Assert.True(new Pcm(resampled, 8000, 1).Rms < 0.01, "an alias of the 6 kHz tone survived");
    }

    [Theory]
    [InlineData(0.03)]
    [InlineData(0.3)]
    public void Loudness_normalization_brings_speech_to_the_target_level(double amplitude)
    {
        var tone = Tone(220, 22050, 0.5, amplitude);

        LoudnessNormalizer.Normalize(tone);

        Assert.Equal(LoudnessNormalizer.TargetRms, new Pcm(tone, 22050, 1).Rms, 0.005);
    }

    [Fact]
    public void Loudness_normalization_never_clips_a_peaky_signal()
    {
        // Mostly quiet with one loud burst: reaching the RMS target would clip the burst.
        var signal = Tone(220, 22050, 1.0, 0.01);
        Tone(220, 22050, 0.01, 0.9).CopyTo(signal, 1000);

        LoudnessNormalizer.Normalize(signal);

        Assert.InRange(signal.Max(s => Math.Abs((int)s)), 0, (int)(LoudnessNormalizer.PeakCeiling * short.MaxValue) + 1);
    }

    [Fact]
    public void Loudness_normalization_leaves_silence_silent()
    {
        var silence = new short[1000];

        LoudnessNormalizer.Normalize(silence);

        Assert.All(silence, s => Assert.Equal(0, s));
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(0.5)]
    public void Speed_changes_the_duration_but_not_the_pitch(double speed)
    {
        var tone = Tone(200, 22050, 1.0);

        var result = SpeedPitchProcessor.Apply(tone, 22050, speed, pitch: 1.0);

        Assert.Equal(tone.Length / speed, result.Length, tone.Length * 0.02);
        Assert.Equal(200, AudioMeasures.ZeroCrossingFrequency(result[2000..^2000], 22050), 10.0);
    }

    [Theory]
    [InlineData(1.5)]
    [InlineData(0.75)]
    public void Pitch_changes_the_frequency_but_not_the_duration(double pitch)
    {
        var tone = Tone(200, 22050, 1.0);

        var result = SpeedPitchProcessor.Apply(tone, 22050, speed: 1.0, pitch);

        Assert.Equal(tone.Length, result.Length, tone.Length * 0.02);
        Assert.Equal(200 * pitch, AudioMeasures.ZeroCrossingFrequency(result[2000..^2000], 22050), 200 * pitch * 0.05);
    }

    [Fact]
    public void Streaming_resampler_allocates_nothing_per_chunk_once_its_buffers_are_sized()
    {
        var chunk = new short[441];
        for (var i = 0; i < chunk.Length; i++)
        {
            chunk[i] = (short)(10000 * Math.Sin(i * 0.1));
        }

        using var resampler = new StreamingResampler(22050, 48000);
        resampler.Process(chunk);

        // Three rounds of 200 chunks, and the quietest must allocate nothing: a garbage collection under a busy test run may trim
        // ArrayPool, and the next rent then allocates once, which is not an allocation per chunk.
        var fewest = long.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 200; i++)
            {
                resampler.Process(chunk);
            }

            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, fewest);
    }
}
