using Microsoft.Extensions.Time.Testing;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Security;

namespace MitTts.Tests.Security;

/// <summary>"N per window" means at most N in any window of that length, however the requests are spread.</summary>
public sealed class SlidingWindowBudgetTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void A_burst_of_the_whole_budget_passes_and_the_next_waits_a_full_window()
    {
        var budget = new SlidingWindowBudget(new RateLimit(100, TimeSpan.FromMinutes(1)), _time);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(1, budget.Take(1).Granted);
            _time.Advance(TimeSpan.FromMilliseconds(10));
        }

        // A token bucket refilling one every 0.6 s would have let two more through by now.
        var refused = budget.Take(1);
        Assert.Equal(0, refused.Granted);
        Assert.InRange(refused.RetryAfterSeconds, 59.0, 59.07);

        // Not a moment early: the first permits come back a window after they were spent.
        _time.Advance(TimeSpan.FromSeconds(refused.RetryAfterSeconds) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, budget.Take(1).Granted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, budget.Take(1).Granted);
    }

    [Fact]
    public void No_window_anywhere_holds_more_than_the_budget()
    {
        var limit = new RateLimit(10, TimeSpan.FromSeconds(10));
        var budget = new SlidingWindowBudget(limit, _time);
        var granted = new List<DateTimeOffset>();
        var random = new Random(7);
        var start = _time.GetUtcNow();
        for (var step = 0; step < 5000; step++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(random.Next(0, 200)));
            var grant = budget.Take(random.Next(1, 4));
            for (var i = 0; i < grant.Granted; i++)
            {
                granted.Add(_time.GetUtcNow());
            }
        }

        // Every run of budget+1 grants spans at least a window, and the budget was used (not merely refused).
        for (var i = limit.Permits; i < granted.Count; i++)
        {
            Assert.True(granted[i] - granted[i - limit.Permits] >= limit.Window, $"grants {i - limit.Permits}..{i} within {granted[i] - granted[i - limit.Permits]}");
        }

        Assert.InRange(granted.Count, 400, limit.Permits * (int)((_time.GetUtcNow() - start) / limit.Window + 1));
    }

    [Fact]
    public void A_batch_takes_what_is_left_and_permits_come_back_in_the_order_they_went()
    {
        var budget = new SlidingWindowBudget(new RateLimit(5, TimeSpan.FromSeconds(5)), _time);
        Assert.Equal(3, budget.Take(3).Granted);
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(2, budget.Take(4).Granted);
        Assert.Equal(0, budget.Take(1).Granted);

        _time.Advance(TimeSpan.FromSeconds(3.01));
        Assert.Equal(3, budget.Take(5).Granted);
        var refused = budget.Take(1);
        Assert.Equal(0, refused.Granted);
        Assert.InRange(refused.RetryAfterSeconds, 1.99, 2.0);
    }

    [Fact]
    public void A_huge_budget_keeps_a_bounded_log()
    {
        var budget = new SlidingWindowBudget(new RateLimit(1_000_000, TimeSpan.FromMinutes(1)), _time);
        for (var i = 0; i < 1_000_000; i++)
        {
            Assert.Equal(1, budget.Take(1).Granted);
            _time.Advance(TimeSpan.FromTicks(TimeSpan.TicksPerMinute / 1_000_000));
        }

        Assert.Equal(0, budget.Take(1).Granted);
    }

    [Fact]
    public void A_limit_lowered_live_counts_what_was_spent_under_the_old_one()
    {
        var old = new SlidingWindowBudget(new RateLimit(10, TimeSpan.FromMinutes(1)), _time);
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(1, old.Take(1).Granted);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        // 8 spent in the last minute, and now 5 a minute: none left until 4 of them have come back (the 4th one, spent at 3 s).
        var lowered = new SlidingWindowBudget(new RateLimit(5, TimeSpan.FromMinutes(1)), _time, old);
        var refused = lowered.Take(1);
        Assert.Equal(0, refused.Granted);
        Assert.InRange(refused.RetryAfterSeconds, 54.99, 55.0);
        _time.Advance(TimeSpan.FromSeconds(refused.RetryAfterSeconds) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, lowered.Take(1).Granted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, lowered.Take(5).Granted);
    }

    [Fact]
    public void A_limit_raised_or_its_window_changed_live_keeps_the_grants_for_one_new_window()
    {
        var old = new SlidingWindowBudget(new RateLimit(3, TimeSpan.FromSeconds(10)), _time);
        Assert.Equal(3, old.Take(3).Granted);

        // Raised to 5: two more now, not five.
        var raised = new SlidingWindowBudget(new RateLimit(5, TimeSpan.FromSeconds(10)), _time, old);
        Assert.Equal(2, raised.Take(5).Granted);

        // Three a minute now: the three spent at the start count for a minute from then, the two just taken too.
        _time.Advance(TimeSpan.FromSeconds(30));
        var longer = new SlidingWindowBudget(new RateLimit(3, TimeSpan.FromMinutes(1)), _time, raised);
        var refused = longer.Take(1);
        Assert.Equal(0, refused.Granted);
        Assert.InRange(refused.RetryAfterSeconds, 29.99, 30.0);
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(3, longer.Take(3).Granted);
    }
}
