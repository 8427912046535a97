using System.Buffers;
using System.Threading.Channels;
using CommunityToolkit.HighPerformance.Buffers;
using MitTts.Grains.Interfaces;
using MitTts.Speech.Audio;
using MitTts.Speech.Engines;

namespace MitTts.Grains.Synthesis;

/// <summary>The audio pipeline of one streamed task: engine PCM → gain → resampling → encoder, gathered into the next
/// <see cref="SentenceAudio"/> piece for the job's owner while the engine keeps going.</summary>
/// <remarks>The engine calls <see cref="Write"/> and <see cref="Word"/> on its own thread; the synthesizer takes a sentence's last
/// piece on another, so both sides go through one lock. Loudness uses the voice's measured gain instead of the whole-utterance
/// normalizer, which would have to wait for the last sample. Speed and pitch for engines that cannot apply them work a sentence at a time.
/// <para>While a sentence is spoken with an output attached (<see cref="BeginSentence"/>), its pieces go to that output from the thread
/// that made them ready: the engine's, or the timer's for audio held back. The synthesizer's grain is not woken per piece (that was
/// one more thread hop before each piece and a grain turn for it; Opus first audio p99 fell from 25 to 9 ms). The stream's first audio
/// goes at once; while the listener holds less than <see cref="MinimumLead"/> (what the pieces given out hold, less the time since the
/// first, as a player that started with it would have left), new audio goes as soon as <see cref="LeadPiece"/> of it is ready, with no
/// timer in the way: the first piece can be one engine buffer (20 ms), and a piece held on a timer under load reached the player after
/// it ran dry. Past that lead, new audio waits up to <see cref="PieceInterval"/> after the last piece. An engine far faster than real
/// time (espeak-ng speaks a 3 s sentence in about 3 ms) then makes a few pieces per sentence instead of one per engine buffer, each of
/// which costs grain calls and a WebSocket frame, and a player never waits on the interval with little left to play.</para></remarks>
public sealed class StreamedRendering : IPcmSink, IWordSink, IDisposable
{
    /// <summary>The shortest time between two pieces after the first.</summary>
    public static readonly TimeSpan PieceInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>How much audio the listener must hold before new audio may wait for <see cref="PieceInterval"/>.</summary>
    public static readonly TimeSpan MinimumLead = TimeSpan.FromMilliseconds(250);

    /// <summary>How much new audio makes a piece while the listener holds less than <see cref="MinimumLead"/>: five engine buffers of
    /// espeak-ng, made in well under a millisecond, so a sentence reaches the lead in about three pieces instead of one per buffer.</summary>
    public static readonly TimeSpan LeadPiece = TimeSpan.FromMilliseconds(100);

    /// <summary>The largest piece, under the large-object heap's 85,000 bytes: a piece is a new array, and the rest of a 3 s PCM sentence
    /// (about 130 KB) in one piece landed there, so every few hundred pieces forced a full blocking collection (tens of ms with every
    /// stream paused). Larger audio goes as several pieces of equal size, cut at even bytes (whole 16-bit samples).</summary>
    public const int MaxPieceBytes = 80_000;

    private readonly Lock _gate = new();
    private readonly IAudioEncoderStream _encoder;
    private readonly StreamingResampler? _resampler;
    private double _gain;
    private readonly int _engineRate;
    private readonly int _outputRate;
    private readonly double _speed;
    private readonly double _pitch;
    private readonly bool _applyDsp;
    private readonly TimeProvider _time;
    private readonly long _intervalTicks;
    private readonly long _leadPieceSamples;

    // The engine's word times are estimates (ISpeechEngine.WordTimesEstimated): the words say so.
    private readonly bool _wordsEstimated;
    private readonly bool _splittable;

    // Pooled: with pieces taken every PieceInterval a sentence's audio gathers here (130 KB for 3 s of PCM), and a growing array of
    // its own per stream was most of the server's allocation, on the large-object heap.
    private readonly ArrayPoolBufferWriter<byte> _pending = new(ArrayPool<byte>.Shared, 16 * 1024);
    private readonly List<(int Offset, int Length, long Sample)> _marks = [];
    private readonly PcmBuffer? _sentencePcm;
    private short[] _scratch = ArrayPool<short>.Shared.Rent(4096);
    private List<WordTiming>? _readyWords;
    private string _sentence = string.Empty;
    private double _sentenceStartMs;
    private long _sentenceSamples;
    private long _outputSamples;
    private long _pieceSamples;
    private long _sentenceBytes;
    private long _skipBytes;

    // The container header's bytes (written when the stream begins) not yet in a piece: they go with the first one.
    private int _headerLeft;

    // Where the sentence being spoken gives its pieces as they become ready (null: the caller takes them), its index and the job's
    // progress before it.
    private ChannelWriter<SynthesisEvent>? _output;
    private int _sentenceIndex;
    private double _progress;

    // When the last piece was taken, when the first one with audio was (if one was) and the output samples given out since, and the
    // timer that gives out audio held back.
    private long _lastTake;
    private bool _playing;
    private long _firstAudio;
    private long _sentSamples;
    private ITimer? _holdTimer;
    private bool _holding;
    private bool _disposed;

    public StreamedRendering(IAudioEncoder encoder, int engineRate, int outputRate, double gain, AudioEncoderOptions encoderOptions, double speed = 1.0, double pitch = 1.0, bool wordsEstimated = false, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _intervalTicks = (long)(PieceInterval.TotalSeconds * _time.TimestampFrequency);
        _wordsEstimated = wordsEstimated;
        ArgumentNullException.ThrowIfNull(encoder);
        _engineRate = engineRate;
        _outputRate = outputRate;
        _leadPieceSamples = (long)(LeadPiece.TotalSeconds * outputRate);
        _gain = gain;
        _speed = speed;
        _pitch = pitch;
        _applyDsp = speed != 1.0 || pitch != 1.0;
        _sentencePcm = _applyDsp ? new PcmBuffer() : null;
        _resampler = engineRate == outputRate ? null : new StreamingResampler(engineRate, outputRate);
        _encoder = encoder.CreateStream(outputRate, encoderOptions);

        // Ogg pieces must hold whole pages (OggSplice reads them); at speech bitrates a sentence's pages are far below the limit.
        _splittable = encoder.Container != "ogg";
        _encoder.Begin(_pending);
        _headerLeft = _pending.WrittenCount;
    }

    /// <summary>The rate of the encoded audio.</summary>
    public int OutputRate => _outputRate;

    /// <summary>Milliseconds of audio encoded so far.</summary>
    public int DurationMs
    {
        get
        {
            lock (_gate)
            {
                return (int)(_outputSamples * 1000 / _outputRate);
            }
        }
    }

    /// <summary>What the engine's own thread does once the stream's first audio is out (<see cref="Write"/>): <see cref="Thread.Yield"/>.</summary>
    internal Action GiveUpCore { get; set; } = static () => Thread.Yield();

    /// <summary>Starts a sentence; word positions the engine reports are relative to <paramref name="sentence"/>.</summary>
    /// <remarks>The first <paramref name="skipBytes"/> bytes of its audio are left out: the owner has them from an earlier run. A
    /// sentence skipped whole (<see cref="long.MaxValue"/>) still goes through the encoder, so the audio after it is byte for byte what
    /// the first run made (MP3 and Opus carry state across sentences).
    /// <para>With an <paramref name="output"/>, pieces of the sentence go there as they become ready, as sentence
    /// <paramref name="index"/> at <paramref name="progress"/>, until <see cref="EndSentence"/>; the caller then takes the rest with
    /// <see cref="TakePieces"/>. Without one, the audio gathers until the caller takes it.</para></remarks>
    public void BeginSentence(string sentence, long skipBytes = 0, ChannelWriter<SynthesisEvent>? output = null, int index = 0, double progress = 0)
    {
        lock (_gate)
        {
            _output = output;
            _sentenceIndex = index;
            _progress = progress;
            _sentence = sentence;
            _sentenceSamples = 0;
            _sentenceBytes = 0;
            _skipBytes = skipBytes;
            _sentenceStartMs = _outputSamples * 1000.0 / _outputRate;
            _marks.Clear();
        }
    }

    public void Write(ReadOnlySpan<short> samples)
    {
        bool first;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _sentenceSamples += samples.Length;
            if (_sentencePcm is not null)
            {
                _sentencePcm.Write(samples);
                return;
            }

            Encode(samples);
            first = !_playing;
            Offer();
            first &= _playing;
        }

        if (first && !Thread.CurrentThread.IsThreadPoolThread)
        {
            // The stream's first audio was just handed out from the engine's own thread, which goes on speaking: it gives its core up
            // once, so the thread that carries the audio on runs now. Without this, on two busy cores the woken thread waited for a
            // core behind the engine: 1.1-1.3 ms from this piece to the synthesizer grain's turn, against 0.3-0.4 ms with it (first
            // audio, 1 session, PCM: timestamps through the path, 100 tasks each).
            GiveUpCore();
        }
    }

    public void Word(int textOffset, int textLength, long sampleOffset)
    {
        lock (_gate)
        {
            _marks.Add((textOffset, textLength, sampleOffset));
        }
    }

    /// <summary>Ends the sentence the engine finished: its words get their times, and sentence-wide DSP runs. Nothing more goes to
    /// the sentence's output from here: the caller takes what is left with <see cref="TakePieces"/>.</summary>
    public void EndSentence()
    {
        lock (_gate)
        {
            _output = null;
            if (_sentencePcm is not null)
            {
                var processed = SpeedPitchProcessor.Apply(_sentencePcm.Samples, _engineRate, _speed, _pitch);
                _sentencePcm.Clear();
                Encode(processed);
            }

            if (_marks.Count > 0 && _skipBytes == long.MaxValue)
            {
                _marks.Clear();
            }

            if (_marks.Count > 0)
            {
                // Engine samples to output time: DSP speed shortens or stretches every position alike.
                var msPerSample = 1000.0 / _engineRate / (_applyDsp ? _speed : 1.0);
                var words = _readyWords ??= [];
                for (var i = 0; i < _marks.Count; i++)
                {
                    var (offset, length, sample) = _marks[i];
                    var end = i + 1 < _marks.Count ? _marks[i + 1].Sample : _sentenceSamples;
                    if (offset < 0 || length <= 0 || offset + length > _sentence.Length)
                    {
                        continue;
                    }

                    // Truncated like the task's duration, so the last word never ends after the audio does.
                    words.Add(new WordTiming(
                        _sentence.Substring(offset, length),
                        (int)(_sentenceStartMs + (sample * msPerSample)),
                        (int)(_sentenceStartMs + (end * msPerSample)),
                        _wordsEstimated));
                }

                _marks.Clear();
            }
        }
    }

    /// <summary>Encodes what the resampler and encoder still hold and closes the stream.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            if (_resampler is not null)
            {
                var tail = _resampler.Flush();
                _outputSamples += tail.Length;
                _pieceSamples += tail.Length;
                _encoder.Write(tail, _pending);
            }

            _encoder.Complete(_pending);
        }
    }

    /// <summary>Writes the audio and words of sentence <paramref name="sentence"/> made since the last take to <paramref name="output"/>:
    /// one piece, or several of at most <see cref="MaxPieceBytes"/> (the words and the end of the sentence go with the last); none when
    /// there is nothing to send (nothing new, or all of it skipped). Returns how many were written.</summary>
    public int TakePieces(int sentence, bool sentenceComplete, double progress, ChannelWriter<SynthesisEvent> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        lock (_gate)
        {
            return Take(sentence, sentenceComplete, progress, output);
        }
    }

    /// <summary>Writes what was made since the last take as pieces of sentence <paramref name="sentence"/>; under the lock.</summary>
    private int Take(int sentence, bool sentenceComplete, double progress, ChannelWriter<SynthesisEvent> output)
    {
        if (_disposed)
        {
            return 0;
        }

        _lastTake = _time.GetTimestamp();
        if (_holding)
        {
            _holding = false;
            _holdTimer!.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        var made = _pending.WrittenSpan;
        var header = (int)Math.Min(_headerLeft, made.Length);
        _headerLeft -= header;
        var offset = _sentenceBytes;
        _sentenceBytes += made.Length;
        var samples = _pieceSamples;
        _pieceSamples = 0;
        var skip = _skipBytes - offset;
        if (skip > 0)
        {
            // The samples the kept bytes stand for (the header's bytes are none of them).
            var kept = skip >= made.Length ? 0 : made.Length - (int)skip;
            samples = SentenceAudio.SamplesFrom(samples, made.Length, header, skip);
            header = (int)Math.Clamp(header - skip, 0, header);
            made = kept == 0 ? [] : made[(int)skip..];
            offset += Math.Min(skip, _pending.WrittenCount);
        }

        var words = _readyWords;
        _readyWords = null;
        if (_skipBytes == long.MaxValue || (made.IsEmpty && words is null && !sentenceComplete))
        {
            _pending.Clear();
            return 0;
        }

        if (!made.IsEmpty)
        {
            if (!_playing)
            {
                _playing = true;
                _firstAudio = _lastTake;
            }

            _sentSamples += samples;
        }

        // One piece, or equal pieces each a whole number of 16-bit samples; the samples are shared by bytes (exact for PCM and G.711),
        // the last piece taking what rounding left, and with the words and the sentence's end.
        var parts = made.Length <= MaxPieceBytes || !_splittable ? 1 : (made.Length + MaxPieceBytes - 1) / MaxPieceBytes;
        var size = parts == 1 ? made.Length : (((made.Length + parts - 1) / parts) + 1) & ~1;
        var audioBytes = made.Length - header;
        var written = 0;
        long given = 0;
        var start = 0;
        do
        {
            var length = Math.Min(size, made.Length - start);
            var last = start + length == made.Length;
            var partHeader = Math.Clamp(header - start, 0, length);
            var share = last ? samples - given : audioBytes == 0 ? 0 : samples * (length - partHeader) / audioBytes;
            given += share;
            output.TryWrite(new SentenceAudio(sentence, offset + start, made.Slice(start, length).ToArray(), last ? words : null,
                last && sentenceComplete, progress, share, partHeader));
            written++;
            start += length;
        }
        while (start < made.Length);

        _pending.Clear();
        return written;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _holdTimer?.Dispose();
            _encoder.Dispose();
            _pending.Dispose();
            _resampler?.Dispose();
            _sentencePcm?.Dispose();
            ArrayPool<short>.Shared.Return(_scratch);
            _scratch = [];
            _output = null;
        }
    }

    private void Encode(ReadOnlySpan<short> samples)
    {
        if (_scratch.Length < samples.Length)
        {
            ArrayPool<short>.Shared.Return(_scratch);
            _scratch = ArrayPool<short>.Shared.Rent(samples.Length);
        }

        // A passage louder than the voice's calibration must not pass the peak ceiling: the gain comes down and stays down (no pumping).
        var peak = 0;
        foreach (var sample in samples)
        {
            peak = Math.Max(peak, Math.Abs((int)sample));
        }

        if (peak * _gain > LoudnessNormalizer.PeakCeiling * short.MaxValue)
        {
            _gain = LoudnessNormalizer.PeakCeiling * short.MaxValue / peak;
        }

        var scaled = _scratch.AsSpan(0, samples.Length);
        for (var i = 0; i < samples.Length; i++)
        {
            scaled[i] = (short)Math.Clamp(Math.Round(samples[i] * _gain), short.MinValue + 1, short.MaxValue);
        }

        ReadOnlySpan<short> output = _resampler is null ? scaled : _resampler.Process(scaled);
        _outputSamples += output.Length;
        _pieceSamples += output.Length;

        _encoder.Write(output, _pending);
    }

    /// <summary>New audio: the stream's first goes at once; while the listener holds less than <see cref="MinimumLead"/>, a piece goes
    /// once <see cref="LeadPiece"/> is ready; past that, new audio is held until <see cref="PieceInterval"/> after the last piece.</summary>
    private void Offer()
    {
        if (_output is not { } output || _holding || _pending.WrittenCount == 0)
        {
            return;
        }

        if (_playing)
        {
            var now = _time.GetTimestamp();
            var held = ((double)_sentSamples / _outputRate) - ((double)(now - _firstAudio) / _time.TimestampFrequency);
            if (held < MinimumLead.TotalSeconds)
            {
                if (_pieceSamples < _leadPieceSamples)
                {
                    return;
                }
            }
            else
            {
                var due = _lastTake + _intervalTicks - now;
                if (due > 0)
                {
                    _holding = true;
                    _holdTimer ??= _time.CreateTimer(static state => ((StreamedRendering)state!).HoldOver(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                    _holdTimer.Change(TimeSpan.FromTicks(due * TimeSpan.TicksPerSecond / _time.TimestampFrequency), Timeout.InfiniteTimeSpan);
                    return;
                }
            }
        }

        Take(_sentenceIndex, sentenceComplete: false, _progress, output);
    }

    private void HoldOver()
    {
        lock (_gate)
        {
            if (_holding && !_disposed)
            {
                _holding = false;
                if (_output is { } output)
                {
                    Take(_sentenceIndex, sentenceComplete: false, _progress, output);
                }
            }
        }
    }
}
