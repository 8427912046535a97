using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using MitTts.Grains;
using MitTts.Grains.Interfaces;
using MitTts.Silo;
using Orleans.TestingHost;

namespace MitTts.Tests.Grains;

/// <summary>A silo whose clock is a <see cref="FakeTimeProvider"/> (grain timers included): idle clean-up is tested by moving time,
/// not by waiting for it.</summary>
public sealed class FakeClockClusterFixture : IAsyncLifetime, IDisposable
{
    public const double SessionIdleSeconds = 600;

    /// <summary>One clock per test run: silos are built by type, so the configurator reads it from here.</summary>
    public static FakeTimeProvider Clock { get; } = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private readonly CancellationTokenSource _stopTicking = new();
    private Task _ticking = Task.CompletedTask;

    public TestCluster Cluster { get; } = new TestClusterBuilder(1).AddSiloBuilderConfigurator<SiloConfigurator>().Build();

    public IGrainFactory Grains => Cluster.GrainFactory;

    /// <summary>The clock runs on its own at the pace of real time (Orleans waits on it while a silo starts and stops, and would wait
    /// for ever on a frozen one); tests jump it forward.</summary>
    public async Task InitializeAsync()
    {
        _ticking = Tick(_stopTicking.Token);
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        await _stopTicking.CancelAsync();
        await _ticking.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _stopTicking.Dispose();

    private static async Task Tick(CancellationToken stop)
    {
        var step = TimeSpan.FromMilliseconds(10);
        using var timer = new PeriodicTimer(step);
        while (await timer.WaitForNextTickAsync(stop))
        {
            Clock.Advance(step);
        }
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var configuration = new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["tts:model_path"] = Path.Combine(AppContext.BaseDirectory, "models"),
                    ["sessions:idle_timeout_seconds"] = SessionIdleSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
                })
                .Build();
            siloBuilder.AddMitTtsMemoryStorage().AddMitTtsGrains(configuration);
            siloBuilder.Services.AddSingleton<TimeProvider>(Clock);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class FakeClockClusterCollection : ICollectionFixture<FakeClockClusterFixture>
{
    public const string Name = "fake clock cluster";
}

/// <summary>Session idle clean-up by the clock: gone once idle for the timeout, kept while a task is active, kept while used (over
/// REST, or by a socket streaming its channel).</summary>
[Collection(FakeClockClusterCollection.Name)]
public sealed class SessionIdleTests(FakeClockClusterFixture fixture)
{
    private static readonly TimeSpan s_idle = TimeSpan.FromSeconds(FakeClockClusterFixture.SessionIdleSeconds);

    private ISessionGrain NewSession() => fixture.Grains.GetGrain<ISessionGrain>("idle-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task A_session_idle_for_the_timeout_is_cleared_and_not_before()
    {
        var session = NewSession();
        await session.Open("bob");

        await Advance(s_idle * 0.9);
        Assert.NotNull(await session.GetSnapshot());

        await Advance(s_idle * 0.5);
        Assert.True(await Cleared(session), "still there after 2.4 idle timeouts");
    }

    [Fact]
    public async Task Activity_postpones_the_clean_up()
    {
        var session = NewSession();
        await session.Open("carol");
        for (var i = 0; i < 4; i++)
        {
            await Advance(s_idle * 0.6);
            await session.Open("carol");
        }

        Assert.NotNull(await session.GetSnapshot());
        await Advance(s_idle * 1.5);
        Assert.True(await Cleared(session));
    }

    [Fact]
    public async Task A_session_with_an_active_task_is_kept_however_long_it_runs()
    {
        var session = NewSession();
        await session.Open("dave");
        await session.AddTask("still-running");

        await Advance(s_idle * 3);
        Assert.NotNull(await session.GetSnapshot());

        await session.TaskFinished("still-running");
        await Advance(s_idle * 1.5);
        Assert.True(await Cleared(session));
    }

    [Fact]
    public async Task A_session_streamed_over_a_socket_keeps_its_owner_however_long_REST_leaves_it_alone()
    {
        var id = "idle-" + Guid.NewGuid().ToString("N");
        var session = fixture.Grains.GetGrain<ISessionGrain>(id);
        await session.Open("erin");

        // A socket listens to the session's channel: it touches the session only when it connects.
        using var stopListening = new CancellationTokenSource();
        var channel = fixture.Grains.GetGrain<IAudioChannelGrain>(id);
        var listening = Listen(channel, stopListening.Token);
        while (!await channel.IsInUse())
        {
            await Task.Delay(10);
        }

        await Advance(s_idle * 3);
        var kept = await session.GetSnapshot();
        Assert.Equal("erin", kept?.OwnerId);

        // Another user opening it finds it owned (the gateway refuses them), not a fresh session of theirs.
        Assert.Equal("erin", (await session.Open("mallory")).OwnerId);

        // The socket goes: the session is used as long as the socket may resume (a resume window), then idles out as any other.
        await stopListening.CancelAsync();
        await listening;
        await Advance(s_idle * 1.5);
        Assert.True(await Cleared(session), "a session nobody streams or resumes idled out");
    }

    private static async Task Listen(IAudioChannelGrain channel, CancellationToken stop)
    {
        try
        {
            await foreach (var _ in channel.Listen(0, cancellationToken: stop))
            {
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Moves the clock in steps of a quarter timeout (the check period), letting each due check run.</summary>
    private static async Task Advance(TimeSpan by)
    {
        for (var left = by; left > TimeSpan.Zero; left -= s_idle / 8)
        {
            FakeClockClusterFixture.Clock.Advance(left < s_idle / 8 ? left : s_idle / 8);
            await Task.Yield();
        }
    }

    /// <summary>Whether the clean-up runs within one more timeout. A grain timer's next tick is due a period after its last callback
    /// finished, on the silo's scheduler, so the clock keeps moving in small steps while this looks; after one timeout it moves only
    /// at the fixture's real pace (seconds, against a 600 s timeout) while the silo catches up with the ticks already due.</summary>
    /// <remarks>The steps took about a second of real time; a CI run under load once used them up before the silo had run the ticks
    /// they made due (a channel's resume window, then the session's check) and read a session that was about to go as kept.</remarks>
    private static async Task<bool> Cleared(ISessionGrain session)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        var moved = TimeSpan.Zero;
        while (DateTime.UtcNow < deadline)
        {
            if (await session.GetSnapshot() is null)
            {
                return true;
            }

            await Task.Delay(10);
            if (moved < s_idle)
            {
                FakeClockClusterFixture.Clock.Advance(s_idle / 64);
                moved += s_idle / 64;
            }
        }

        return false;
    }
}
