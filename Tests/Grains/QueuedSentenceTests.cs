using Microsoft.Extensions.Time.Testing;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;
using MitTts.Speech.Engines;

namespace MitTts.Tests.Grains;

/// <summary>A sentence handed to the engine before its job takes it: what the engine made meanwhile reaches the job's sink exactly as
/// if the sink had been there from the start; a dropped one reaches nobody and stops the engine.</summary>
public sealed class QueuedSentenceTests
{
    private static readonly SpeechRequest s_request = new("Hello there.", "tone");

    [Fact]
    public async Task Audio_and_words_made_before_the_job_takes_the_sentence_reach_it_in_the_engines_order()
    {
        var engine = new SteppedEngine();
        var time = new FakeTimeProvider();
        var sentence = QueuedSentence.Ahead(engine, s_request, time, new ScheduledJob(Job(), 1, time.GetUtcNow()), 0, null, CancellationToken.None);
        var startedAt = time.GetTimestamp();
        await engine.Run(sink =>
        {
            sink.Write([1, 2, 3]);
            ((IWordSink)sink).Word(0, 5, 3);
            sink.Write([4, 5]);
            ((IWordSink)sink).Word(6, 6, 5);
        });
        time.Advance(TimeSpan.FromMilliseconds(40));

        var recorded = new RecordingSink();
        var speaking = sentence.SpeakInto(recorded);
        await engine.Run(sink =>
        {
            sink.Write([6, 7]);
            ((IWordSink)sink).Word(12, 1, 7);
            sink.Write([8]);
        });
        engine.Finish();
        await speaking;

        Assert.Equal(["pcm 1,2,3", "word 0+5@3", "pcm 4,5", "word 6+6@5", "pcm 6,7", "word 12+1@7", "pcm 8"], recorded.Log);
        Assert.Equal(startedAt, sentence.StartedAt(time.GetTimestamp()));
    }

    [Fact]
    public async Task A_sentence_taken_before_the_engine_reaches_it_goes_straight_to_the_sink()
    {
        var engine = new SteppedEngine();
        var time = new FakeTimeProvider();
        var sentence = QueuedSentence.Ahead(engine, s_request, time, new ScheduledJob(Job(), 1, time.GetUtcNow()), 0, null, CancellationToken.None);
        var recorded = new RecordingSink();
        var speaking = sentence.SpeakInto(recorded);
        time.Advance(TimeSpan.FromMilliseconds(40));
        var now = time.GetTimestamp();
        await engine.Run(sink => sink.Write([9, 10]));
        engine.Finish();
        await speaking;

        Assert.Equal(["pcm 9,10"], recorded.Log);
        Assert.Equal(now, sentence.StartedAt(now + 1000));
    }

    [Fact]
    public async Task A_dropped_sentence_reaches_no_sink_and_stops_the_engine()
    {
        var engine = new SteppedEngine();
        var time = new FakeTimeProvider();
        var sentence = QueuedSentence.Ahead(engine, s_request, time, new ScheduledJob(Job(), 1, time.GetUtcNow()), 0, null, CancellationToken.None);
        await engine.Run(sink => sink.Write([1, 2]));

        sentence.Drop();

        // The engine sees the cancellation at its next buffer; what it writes until then, and how it ends, go nowhere.
        Assert.True(engine.Token.IsCancellationRequested);
        await engine.Run(sink => sink.Write([3]));
        engine.Fail(new OperationCanceledException(engine.Token));
    }

    [Fact]
    public async Task Cancelling_the_job_stops_a_sentence_handed_ahead_for_it()
    {
        using var job = new CancellationTokenSource();
        var engine = new SteppedEngine();
        var time = new FakeTimeProvider();
        var sentence = QueuedSentence.Ahead(engine, s_request, time, new ScheduledJob(Job(), 1, time.GetUtcNow()), 0, null, job.Token);

        await job.CancelAsync();

        Assert.True(engine.Token.IsCancellationRequested);
        engine.Fail(new OperationCanceledException(engine.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sentence.SpeakInto(new RecordingSink()));
    }

    private static SynthesisJob Job() =>
        new("task_1", new SynthesisRequest("Hello there.", "zz-test-1", AudioFormat.Pcm, Priority.Normal, null, 1.0, 1.0), DateTimeOffset.UnixEpoch);

    /// <summary>An engine the test drives: it keeps the sink and token of the one call it gets, and ends it when told.</summary>
    private sealed class SteppedEngine : ISpeechEngine
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private IPcmSink? _sink;

        public string Name => "stepped";

        public int SampleRate => 8000;

        public bool AppliesSpeedAndPitch => true;

        public bool AppliesSpeed => true;

        public CancellationToken Token { get; private set; }

        public Task SynthesizeAsync(SpeechRequest request, IPcmSink sink, CancellationToken cancellationToken = default)
        {
            _sink = sink;
            Token = cancellationToken;
            return _done.Task;
        }

        /// <summary>Writes to the sink on another thread, as the engine's own thread does.</summary>
        public Task Run(Action<IPcmSink> write) => Task.Run(() => write(_sink!));

        public void Finish() => _done.TrySetResult();

        public void Fail(Exception error) => _done.TrySetException(error);
    }

    private sealed class RecordingSink : IPcmSink, IWordSink
    {
        public List<string> Log { get; } = [];

        public void Write(ReadOnlySpan<short> samples) => Log.Add("pcm " + string.Join(',', samples.ToArray()));

        public void Word(int textOffset, int textLength, long sampleOffset) => Log.Add($"word {textOffset}+{textLength}@{sampleOffset}");
    }
}
