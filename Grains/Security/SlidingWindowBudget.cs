using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Security;

/// <summary>A budget of <see cref="RateLimit.Permits"/> in any window of <see cref="RateLimit.Window"/>: each grant is remembered until
/// one window after it, and a permit comes back only then, so "100/minute" never lets a 101st request through in any minute, however
/// the requests are spread. Grants less than 1/1024th of a window apart share one entry, which comes back a window after the latest of
/// them (a permit comes back at most that much late, never early): the memory is bounded by the smaller of the permits and 1026
/// entries, whatever the budget. Not thread-safe: a grain's.</summary>
public sealed class SlidingWindowBudget
{
    private const int Resolution = 1024;

    private readonly TimeProvider _time;
    private readonly long _window;
    private readonly long _quantum;
    private readonly (long Opened, long Returns, int Count)[] _grants;
    private int _first;
    private int _entries;
    private int _spent;

    /// <param name="limit">The permits and their window.</param>
    /// <param name="time">The clock.</param>
    /// <param name="earlier">The budget this one replaces (the limit changed live): its grants still count, each until one new window
    /// after it was made, so lowering "100/minute" to "5/minute" refuses a caller that spent 8 in the last minute, rather than
    /// starting it afresh.</param>
    public SlidingWindowBudget(RateLimit limit, TimeProvider time, SlidingWindowBudget? earlier = null)
    {
        ArgumentNullException.ThrowIfNull(limit);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit.Permits);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(limit.Window, TimeSpan.Zero);
        Limit = limit;
        _time = time;
        _window = Math.Max(1, (long)(limit.Window.TotalSeconds * time.TimestampFrequency));
        _quantum = (_window + Resolution - 1) / Resolution;
        _grants = new (long, long, int)[Math.Min(limit.Permits, Resolution + 2)];
        if (earlier is not null)
        {
            CarryOver(earlier);
        }
    }

    public RateLimit Limit { get; }

    /// <summary>Takes up to <paramref name="wanted"/> permits (at least one): as many as are left, or none, with when the first comes back.</summary>
    public RateGrant Take(int wanted)
    {
        var now = _time.GetTimestamp();
        while (_entries > 0 && _grants[_first].Returns <= now)
        {
            _spent -= _grants[_first].Count;
            _first = (_first + 1) % _grants.Length;
            _entries--;
        }

        var count = Math.Min(Math.Max(wanted, 1), Limit.Permits - _spent);
        if (count <= 0)
        {
            return new RateGrant(0, (double)(FirstPermitBack() - now) / _time.TimestampFrequency);
        }

        Add(now, now + _window, count);
        return new RateGrant(count, 0);
    }

    /// <summary>Records <paramref name="count"/> permits granted at <paramref name="at"/>, back at <paramref name="returns"/>: in the last
    /// entry when it opened less than a quantum before (or the log is full), else in a new one.</summary>
    private void Add(long at, long returns, int count)
    {
        var last = (_first + _entries - 1 + _grants.Length) % _grants.Length;
        if (_entries > 0 && (at - _grants[last].Opened < _quantum || _entries == _grants.Length))
        {
            _grants[last].Returns = Math.Max(_grants[last].Returns, returns);
            _grants[last].Count += count;
        }
        else
        {
            _grants[(_first + _entries) % _grants.Length] = (at, returns, count);
            _entries++;
        }

        _spent += count;
    }

    /// <summary>When enough permits have come back for one more: after a lowered limit, more than one entry may have to return.</summary>
    private long FirstPermitBack()
    {
        var spent = _spent;
        for (var i = 0; i < _entries; i++)
        {
            ref var entry = ref _grants[(_first + i) % _grants.Length];
            spent -= entry.Count;
            if (spent < Limit.Permits)
            {
                return entry.Returns;
            }
        }

        return _grants[(_first + _entries - 1) % _grants.Length].Returns;
    }

    /// <summary>The grants of <paramref name="earlier"/> still inside this budget's window, oldest first.</summary>
    private void CarryOver(SlidingWindowBudget earlier)
    {
        var now = _time.GetTimestamp();
        for (var i = 0; i < earlier._entries; i++)
        {
            var (opened, returns, count) = earlier._grants[(earlier._first + i) % earlier._grants.Length];
            // An entry comes back one window after its latest grant: that grant, one new window on.
            var latest = returns - earlier._window;
            if (latest + _window > now)
            {
                Add(opened, latest + _window, count);
            }
        }
    }
}
