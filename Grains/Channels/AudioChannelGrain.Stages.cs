using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Channels;

/// <summary>The channel's stage of a streamed task's first audio (<see cref="StreamStageMetrics"/>): from its first piece reaching the
/// channel to a reader taking its event, timed by sequence, so a task that ends before a slow reader comes is timed too.</summary>
public sealed partial class AudioChannelGrain
{
    // First audio events waiting for a reader beyond which the oldest are not timed (no reader for a while): a bound, not a setting.
    private const int MaxTimedFirstAudio = 64;

    // First audio events in the log that no reader has taken yet, oldest first: their sequence and when their piece reached the channel.
    private readonly Queue<(long Sequence, long At)> _firstAudio = new();

    /// <summary><paramref name="channelEvent"/> of <paramref name="item"/> just went into the log: its first audio starts waiting for a reader.</summary>
    private void TimeFirstAudio(ChannelItem item, ChannelEvent channelEvent)
    {
        if (item.FirstPieceAt == 0 || channelEvent is not AudioEvent)
        {
            return;
        }

        _firstAudio.Enqueue((_log.LastSequence, item.FirstPieceAt));
        item.FirstPieceAt = 0;
        if (_firstAudio.Count > MaxTimedFirstAudio)
        {
            _firstAudio.Dequeue();
        }
    }

    /// <summary>A reader takes event <paramref name="sequence"/>: the first audio of a task it is times the channel stage; events before it
    /// that a reader never took (shed, or skipped on a resume) leave the line untimed.</summary>
    private void TimeFirstRead(long sequence)
    {
        while (_firstAudio.TryPeek(out var first) && first.Sequence <= sequence)
        {
            _firstAudio.Dequeue();
            if (first.Sequence == sequence)
            {
                stages.FirstPieceRead(first.At);
            }
        }
    }
}
