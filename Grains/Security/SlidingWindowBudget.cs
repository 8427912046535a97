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

    public SlidingWindowBudget(RateLimit limit, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(limit);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit.Permits);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(limit.Window, TimeSpan.Zero);
        Limit = limit;
        _time = time;
        _window = Math.Max(1, (long)(limit.Window.TotalSeconds * time.TimestampFrequency));
        _quantum = (_window + Resolution - 1) / Resolution;
        _grants = new (long, long, int)[Math.Min(limit.Permits, Resolution + 2)];
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
            return new RateGrant(0, (double)(_grants[_first].Returns - now) / _time.TimestampFrequency);
        }

        var last = (_first + _entries - 1 + _grants.Length) % _grants.Length;
        if (_entries > 0 && now - _grants[last].Opened < _quantum)
        {
            _grants[last].Returns = now + _window;
            _grants[last].Count += count;
        }
        else
        {
            _grants[(_first + _entries) % _grants.Length] = (now, now + _window, count);
            _entries++;
        }

        _spent += count;
        return new RateGrant(count, 0);
    }
}
