using System.Collections.Concurrent;
using System.Threading.Channels;
using MitTts.Speech.Engines;

namespace MitTts.Tests.Support;

/// <summary>A deterministic engine for scheduling tests: 10 ms of a text-specific tone per character at 8 kHz,
/// a log of what it spoke, and a pause switch the test controls (explicit barriers, no sleeps).</summary>
/// <remarks>State is static because in-process test silos each build their own instance; tests using it run in one collection.</remarks>
public sealed class ScriptedEngine : ISpeechEngine
{
    public const string EngineName = "scripted";
    public const int Rate = 8000;
    private const int SamplesPerCharacter = Rate / 100;

    private static readonly object s_gate = new();
    private static TaskCompletionSource s_resume = Completed();
    private static Channel<string> s_started = Channel.CreateUnbounded<string>();
    private static Channel<string> s_requested = Channel.CreateUnbounded<string>();
    private static readonly SemaphoreSlim s_turn = new(1, 1);

    /// <summary>Every text the engine finished, in order.</summary>
    public static ConcurrentQueue<string> Spoken { get; private set; } = new();

    /// <summary>Asks and ends in one order: <c>asked: TEXT</c> when a call came, <c>spoke: TEXT</c> when it finished.</summary>
    public static ConcurrentQueue<string> Events { get; private set; } = new();

    public string Name => EngineName;

    public int SampleRate => Rate;

    /// <summary>Claims native speed and pitch so the renderer leaves its PCM alone; the tests use 1.0 for both.</summary>
    public bool AppliesSpeedAndPitch => true;

    public bool AppliesSpeed => true;

    /// <summary>Whether the engine behaves like espeak-ng's worker (<see cref="ISpeechEngine.RunsInOrder"/>): calls return at once and
    /// speak one at a time in the order they were made, so the synthesizer queues a job's next sentence ahead. Reset turns it off.</summary>
    public static bool InOrder { get; set; }

    public bool RunsInOrder => InOrder;

    /// <summary>Forgets the log and lets the engine run freely.</summary>
    public static void Reset()
    {
        lock (s_gate)
        {
            s_resume.TrySetResult();
            s_resume = Completed();
            s_started = Channel.CreateUnbounded<string>();
            s_requested = Channel.CreateUnbounded<string>();
            Spoken = new();
            Events = new();
            InOrder = false;
        }
    }

    /// <summary>From now on every synthesis waits, after announcing itself, until <see cref="Resume"/>.</summary>
    public static void Pause()
    {
        lock (s_gate)
        {
            if (s_resume.Task.IsCompleted)
            {
                s_resume = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    public static void Resume()
    {
        lock (s_gate)
        {
            s_resume.TrySetResult();
        }
    }

    /// <summary>Lets the syntheses waiting now go on, while any that starts from here waits for the next <see cref="Resume"/> or step.</summary>
    public static void Step()
    {
        lock (s_gate)
        {
            var waiting = s_resume;
            s_resume = new(TaskCreationOptions.RunContinuationsAsynchronously);
            waiting.TrySetResult();
        }
    }

    /// <summary>Lets through, one <see cref="Step"/> each, whatever the engine starts (a silo's calibration sentence) until it starts
    /// <paramref name="text"/>, which waits.</summary>
    public static async Task StepUntilStarted(string text)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await s_started.Reader.ReadAsync(timeout.Token) != text)
        {
            Step();
        }
    }

    /// <summary>Waits until the engine has started speaking <paramref name="text"/>.</summary>
    public static async Task WaitUntilStarted(string text)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await s_started.Reader.ReadAsync(timeout.Token) != text)
        {
        }
    }

    /// <summary>Waits until the engine has been asked to speak <paramref name="text"/> (an in-order engine may not have started it).</summary>
    public static async Task WaitUntilRequested(string text)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await s_requested.Reader.ReadAsync(timeout.Token) != text)
        {
        }
    }

    /// <summary>The PCM the engine makes for <paramref name="text"/>, the same every time.</summary>
    public static short[] Render(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var samples = new short[text.Length * SamplesPerCharacter];
        var frequency = 200 + (Fnv(text) % 800);
        for (var i = 0; i < samples.Length; i++)
        {
            samples[i] = (short)(6000 * Math.Sin(2 * Math.PI * frequency * i / Rate));
        }

        return samples;
    }

    public Task SynthesizeAsync(SpeechRequest request, IPcmSink sink, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(sink);
        lock (s_gate)
        {
            Events.Enqueue("asked: " + request.Text);
            s_requested.Writer.TryWrite(request.Text);
        }

        return InOrder ? SpeakInTurn(request, sink, cancellationToken) : Speak(request, sink, cancellationToken);
    }

    // SemaphoreSlim hands its turn to asynchronous waiters in the order they came, as the one espeak-ng thread takes its queue.
    private static async Task SpeakInTurn(SpeechRequest request, IPcmSink sink, CancellationToken cancellationToken)
    {
        await s_turn.WaitAsync(cancellationToken);
        try
        {
            await Speak(request, sink, cancellationToken);
        }
        finally
        {
            s_turn.Release();
        }
    }

    private static async Task Speak(SpeechRequest request, IPcmSink sink, CancellationToken cancellationToken)
    {
        Task resume;
        lock (s_gate)
        {
            s_started.Writer.TryWrite(request.Text);
            resume = s_resume.Task;
        }

        await resume.WaitAsync(cancellationToken);
        var samples = Render(request.Text);
        for (var offset = 0; offset < samples.Length; offset += SamplesPerCharacter)
        {
            cancellationToken.ThrowIfCancellationRequested();
            sink.Write(samples.AsSpan(offset, Math.Min(SamplesPerCharacter, samples.Length - offset)));
        }

        lock (s_gate)
        {
            Spoken.Enqueue(request.Text);
            Events.Enqueue("spoke: " + request.Text);
        }
    }

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.SetResult();
        return done;
    }

    private static int Fnv(string text)
    {
        unchecked
        {
            var hash = (int)2166136261;
            foreach (var c in text)
            {
                hash = (hash ^ c) * 16777619;
            }

            return hash & 0x7FFFFFFF;
        }
    }
}
