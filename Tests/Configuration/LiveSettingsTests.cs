using Microsoft.Extensions.Configuration;
using MitTts.Grains.Configuration;
using MitTts.Grains.Interfaces;

namespace MitTts.Tests.Configuration;

/// <summary>A gateway applies a <c>PUT /config</c>'s answer itself, and its watcher may apply the same version first, on another thread:
/// the PUT answers only once the change is in effect, so the second Apply must not return while the first is still telling listeners.</summary>
public sealed class LiveSettingsTests
{
    [Fact]
    public async Task Applying_a_version_another_thread_is_applying_returns_only_once_its_listeners_have_it()
    {
        var settings = new LiveSettings(new ConfigurationBuilder().Build());
        var told = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var limit = 100;
        using var subscription = settings.OnChange(config =>
        {
            told.TrySetResult();
            release.Task.Wait();
            limit = config.RateLimits.SynthesizePerMinute;
        });
        var change = new LiveConfigOverrides(1, SynthesizePerMinute: 0);

        // The watcher's Apply, held inside its listener.
        var watcher = Task.Run(() => settings.Apply(change));
        await told.Task;

        // The PUT's Apply of the same version: it finds the version in effect, but the listener has not finished.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var put = Task.Run(() =>
        {
            started.SetResult();
            settings.Apply(change);
            return limit;
        });
        await started.Task;
        Assert.NotSame(put, await Task.WhenAny(put, Task.Delay(TimeSpan.FromMilliseconds(300))));

        release.SetResult();
        Assert.Equal(0, await put);
        await watcher;
    }
}
