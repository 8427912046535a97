using System.Buffers;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Channels;

/// <summary>One streamed task of a channel: its place in line, the audio it received and where that leaves it, and its end.</summary>
internal sealed class ChannelItem(ChannelTaskInfo info, SynthesisRequest request, long order)
{
    public ChannelTaskInfo Info { get; } = info;

    public string TaskId => Info.TaskId;

    public SynthesisRequest Request { get; } = request;

    public Priority Priority => Request.Priority;

    public long Order { get; } = order;

    /// <summary>Cancels the task's synthesis (interrupt, abandon).</summary>
    public CancellationTokenSource Cancellation { get; } = new();

    /// <summary>Events made but not yet in the log: the task waits for its turn on the socket.</summary>
    public List<(ChannelEvent Event, AudioPosition Position)> Pending { get; } = [];

    /// <summary>What arrived: the sentence being received and how many of its bytes, where a re-run picks up.</summary>
    public AudioPosition Received { get; set; } = new(0, 0, 0);

    /// <summary>What a reader has read of the task: what a durable channel saves.</summary>
    public bool ReadStarted { get; set; }

    public AudioPosition Read { get; set; } = new(0, 0, 0);

    /// <summary>Whether its start went into the log.</summary>
    public bool Started { get; set; }

    /// <summary>Whether its end went into the log (it stays until a reader has read that end).</summary>
    public bool Ended { get; set; }

    /// <summary>The whole file, joined from its pieces, while they all came in order from the first byte.</summary>
    public ArrayBufferWriter<byte>? Whole { get; set; } = new();

    public string? DeviceKey { get; set; }

    public double Progress { get; set; }

    public int DurationMs { get; set; }

    public SynthesisStatus? EndStatus { get; set; }

    public TaskError? Error { get; set; }

    /// <summary>The task grain's record of this task, written in order behind the audio path.</summary>
    public Task Recording { get; set; } = Task.CompletedTask;
}
