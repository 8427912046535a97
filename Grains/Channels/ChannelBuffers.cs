using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Channels;

/// <summary>How many audio channels one silo holds, and the bytes they hold (resume buffers and unsent audio), kept under
/// <see cref="ChannelOptions.MaxBufferedBytesPerSilo"/>: past it, the channels least recently active are asked to drop theirs.</summary>
/// <remarks>Each channel reports what it holds after every change; the per-session caps still apply. A channel with a reader drops only
/// what that reader has read (its resume buffer); one with no reader also drops what it has not sent, which a resume then hears as
/// <c>resume_expired</c>.</remarks>
public sealed class ChannelBuffers(IOptions<ChannelOptions> options, IGrainFactory grains, TimeProvider time)
{
    // Past the cap, shedding brings the total down to this share of it, so one round makes room for a while.
    private const double ShedTarget = 0.75;

    private readonly ConcurrentDictionary<string, Holding> _channels = new(StringComparer.Ordinal);
    private long _total;
    private long _shedRounds;
    private int _shedding;
    private int _sessions;

    /// <summary>Channels active on this silo (admitted by <see cref="TryAdmit"/>).</summary>
    public int Sessions => Volatile.Read(ref _sessions);

    /// <summary>Counts a channel activating; false when the silo already holds <see cref="ChannelOptions.MaxSessionsPerSilo"/>.</summary>
    public bool TryAdmit()
    {
        if (Interlocked.Increment(ref _sessions) <= options.Value.MaxSessionsPerSilo)
        {
            return true;
        }

        Interlocked.Decrement(ref _sessions);
        return false;
    }

    /// <summary>An admitted channel deactivated.</summary>
    public void Leave() => Interlocked.Decrement(ref _sessions);

    /// <summary>Bytes held by all channels of this silo.</summary>
    public long TotalBytes => Interlocked.Read(ref _total);

    /// <summary>Channels holding anything.</summary>
    public int Channels => _channels.Count;

    /// <summary>How many times the silo's channels were asked to drop buffers.</summary>
    public long ShedRounds => Interlocked.Read(ref _shedRounds);

    /// <summary>Records that <paramref name="sessionId"/>'s channel holds <paramref name="bytes"/> now; sheds when the silo holds too much.</summary>
    public void Report(string sessionId, long bytes)
    {
        var now = time.GetTimestamp();
        long previous = 0;
        if (bytes == 0)
        {
            if (_channels.TryRemove(sessionId, out var gone))
            {
                previous = gone.Bytes;
            }
        }
        else
        {
            _channels.AddOrUpdate(sessionId, static (_, state) => new Holding(state.bytes, state.now), (_, old, state) =>
            {
                previous = old.Bytes;
                return new Holding(state.bytes, state.now);
            }, (bytes, now));
        }

        if (Interlocked.Add(ref _total, bytes - previous) > options.Value.MaxBufferedBytesPerSilo)
        {
            Shed();
        }
    }

    /// <summary>Asks the least recently active channels to drop their buffers until the total would be back under the target.</summary>
    private void Shed()
    {
        if (Interlocked.Exchange(ref _shedding, 1) == 1)
        {
            return;
        }

        try
        {
            Interlocked.Increment(ref _shedRounds);
            var excess = TotalBytes - (long)(options.Value.MaxBufferedBytesPerSilo * ShedTarget);
            var oldestFirst = _channels.ToArray();
            Array.Sort(oldestFirst, static (a, b) => a.Value.ActiveAt.CompareTo(b.Value.ActiveAt));
            foreach (var (sessionId, holding) in oldestFirst)
            {
                if (excess <= 0)
                {
                    break;
                }

                // One-way: the channel drops its buffer in its own turn and reports back.
                grains.GetGrain<IAudioChannelGrain>(sessionId).ShedBuffers().Ignore();
                excess -= holding.Bytes;
            }
        }
        finally
        {
            Volatile.Write(ref _shedding, 0);
        }
    }

    private readonly record struct Holding(long Bytes, long ActiveAt);
}
