using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Security;

/// <summary>One caller's budgets (<see cref="SlidingWindowBudget"/>), one per <see cref="RateLimitKind"/>, its running tasks and its open sockets (leased until
/// renewed); see <see cref="IRateLimitGrain"/>.</summary>
public sealed class RateLimitGrain(TimeProvider time) : Grain, IRateLimitGrain
{
    private readonly Dictionary<RateLimitKind, SlidingWindowBudget> _budgets = [];
    private readonly HashSet<string> _running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _sockets = new(StringComparer.Ordinal);

    public Task<bool> OpenSocket(string socketId, int max, TimeSpan lease)
    {
        var now = time.GetUtcNow();
        foreach (var (id, expires) in _sockets)
        {
            if (expires <= now)
            {
                _sockets.Remove(id);
            }
        }

        if (!_sockets.ContainsKey(socketId) && _sockets.Count >= max)
        {
            return Task.FromResult(false);
        }

        _sockets[socketId] = now + lease;
        return Task.FromResult(true);
    }

    public Task RenewSockets(string[] socketIds, TimeSpan lease)
    {
        ArgumentNullException.ThrowIfNull(socketIds);
        var expires = time.GetUtcNow() + lease;
        foreach (var id in socketIds)
        {
            if (_sockets.ContainsKey(id))
            {
                _sockets[id] = expires;
            }
        }

        return Task.CompletedTask;
    }

    public Task CloseSocket(string socketId)
    {
        _sockets.Remove(socketId);
        return Task.CompletedTask;
    }

    public Task<bool> StartTask(string taskId, int max) => Task.FromResult(_running.Contains(taskId) || (_running.Count < max && _running.Add(taskId)));

    public Task EndTask(string taskId)
    {
        _running.Remove(taskId);
        return Task.CompletedTask;
    }

    public Task<RateGrant> Take(RateLimitKind kind, int wanted, RateLimit limit)
    {
        ArgumentNullException.ThrowIfNull(limit);
        if (!_budgets.TryGetValue(kind, out var budget) || budget.Limit != limit)
        {
            // A limit changed live: what was spent under the old one still counts.
            budget = new SlidingWindowBudget(limit, time, budget);
            _budgets[kind] = budget;
        }

        return Task.FromResult(budget.Take(wanted));
    }
}
