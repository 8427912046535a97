using MitTts.Grains.Interfaces;

namespace MitTts.Tests.Support;

/// <summary>What a test reads of a channel event, whatever its kind.</summary>
public enum ChannelEventKind
{
    TaskStarted,
    Audio,
    Words,
    TaskEnded,
    ContextEnded,
}

/// <summary>Test-side views of results: a submit result read as the task it made (a refusal as an error with no task), and a channel
/// event read by kind.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1708", Justification = "Extension blocks are named by the compiler.")]
public static class ResultViews
{
    extension(SubmitResult result)
    {
        public TaskSnapshot? Accepted => (result as TaskAccepted)?.Task;

        public SynthesisStatus Status => result is TaskAccepted accepted ? accepted.Task.Status : SynthesisStatus.Error;

        public TaskError? Error => result is TaskRefused refused ? refused.Error : ((TaskAccepted)result).Task.Error;

        public int? QueuePosition => (result as TaskAccepted)?.Task.QueuePosition;

        public double EstimatedSeconds => (result as TaskAccepted)?.Task.EstimatedSeconds ?? 0;

        public SynthesisRequest Request => ((TaskAccepted)result).Task.Request;
    }

    extension(ChannelEvent channelEvent)
    {
        public ChannelEventKind Kind => channelEvent switch
        {
            TaskStartedEvent => ChannelEventKind.TaskStarted,
            AudioEvent => ChannelEventKind.Audio,
            WordsEvent => ChannelEventKind.Words,
            TaskEndedEvent => ChannelEventKind.TaskEnded,
            _ => ChannelEventKind.ContextEnded,
        };

        public byte[]? Audio => (channelEvent as AudioEvent)?.Audio;

        public IReadOnlyList<WordTiming>? Words => (channelEvent as WordsEvent)?.Words;

        public SynthesisStatus Status => (channelEvent as TaskEndedEvent)?.Status ?? SynthesisStatus.Processing;

        public int DurationMs => (channelEvent as TaskEndedEvent)?.DurationMs ?? 0;
    }
}
