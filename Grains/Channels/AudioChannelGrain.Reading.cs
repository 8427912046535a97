using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Channels;

/// <summary>What one answer to a reader holds: the next event, or for a reader that takes batches every event ready after it (up to
/// <see cref="MaxBatch"/>).</summary>
public sealed partial class AudioChannelGrain
{
    // The most events in one answer: a reader that fell behind catches up in answers of a bounded size.
    private const int MaxBatch = 32;

    /// <summary>How long a reader in another process that takes batches waits, after a task's start, for its first audio to go in the
    /// same answer (each answer is then a round trip between gateway and silo, which costs about as much on a loaded machine).</summary>
    internal static readonly TimeSpan StartHold = TimeSpan.FromMilliseconds(2);

    /// <summary>The events from <paramref name="next"/> on that the reader may have now, at most <paramref name="most"/>: one event, a
    /// <see cref="ChannelEventBatch"/>, or null when none is ready; <paramref name="marks"/> gets their marks.</summary>
    private ChannelEvent? Collect(long next, Func<EventMark, bool>? early, int most, List<EventMark> marks)
    {
        marks.Clear();
        ChannelEvent? first = null;
        List<ChannelEvent>? batch = null;
        while (marks.Count < most && _log.TryGet(next, early, out var channelEvent, out var mark))
        {
            next = channelEvent.Sequence + 1;
            var outgoing = mark.Sequence > _log.Released ? channelEvent with { Unsaved = NoteOf(mark) } : channelEvent;
            marks.Add(mark);
            if (first is null)
            {
                first = outgoing;
            }
            else
            {
                (batch ??= [first]).Add(outgoing);
            }
        }

        return batch is null ? first : new ChannelEventBatch(batch[^1].Sequence, batch);
    }
}
