using Microsoft.Extensions.Configuration;
using MitTts.Grains;
using MitTts.Silo;
using Orleans.TestingHost;

namespace MitTts.Tests.Grains;

/// <summary>A one-silo test cluster with MitTts's grains, in-memory storage, and short session and result lifetimes.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const double SessionIdleSeconds = 1;
    public const double ResultTtlSeconds = 2;

    public TestCluster Cluster { get; } = new TestClusterBuilder(1)
        .AddSiloBuilderConfigurator<SiloConfigurator>()
        .Build();

    public IGrainFactory Grains => Cluster.GrainFactory;

    public Task InitializeAsync() => Cluster.DeployAsync();

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var configuration = new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["tts:model_path"] = Path.Combine(AppContext.BaseDirectory, "models"),
                    ["tts:result_ttl_seconds"] = ResultTtlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["sessions:idle_timeout_seconds"] = SessionIdleSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
                })
                .Build();
            siloBuilder.AddMitTtsMemoryStorage().AddMitTtsGrains(configuration);
            siloBuilder.AddIncomingGrainCallFilter<RecordGate.Filter>();
            siloBuilder.AddOutgoingGrainCallFilter<RecordGate.OnItsWay>();
            siloBuilder.AddIncomingGrainCallFilter<VoiceGate>();
        }
    }
}

/// <summary>Holds a chosen task's completed record on its way into the task grain, as a slow or distant task grain would, until the
/// test lets it go: at the task grain (<see cref="Hold"/>: the grain is busy with it meanwhile), or before it leaves the channel
/// (<see cref="HoldOnItsWay"/>: the grain answers other calls meanwhile, as when the report is still in flight).</summary>
public static class RecordGate
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Held> s_held = new(StringComparer.Ordinal);
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Held> s_sent = new(StringComparer.Ordinal);

    /// <summary>From now on, <paramref name="taskId"/>'s completed record waits at the task grain for <see cref="Held.Release"/>.</summary>
    public static Held Hold(string taskId) => s_held[taskId] = new Held();

    /// <summary>From now on, <paramref name="taskId"/>'s completed record waits in its caller for <see cref="Held.Release"/>.</summary>
    public static Held HoldOnItsWay(string taskId) => s_sent[taskId] = new Held();

    private static bool IsCompletedRecord(IGrainCallContext context) =>
        context.InterfaceMethod?.Name == nameof(MitTts.Grains.Interfaces.ITaskGrain.Record)
        && context.Request.GetArgument(0) is MitTts.Grains.Interfaces.TaskProgress { Status: MitTts.Grains.Interfaces.SynthesisStatus.Completed };

    public sealed class Held
    {
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when the record has reached the task grain and is being held.</summary>
        public Task Reached => _reached.Task;

        public void Release() => _released.TrySetResult();

        internal Task Wait()
        {
            _reached.TrySetResult();
            return _released.Task;
        }
    }

    internal sealed class Filter : IIncomingGrainCallFilter
    {
        public async Task Invoke(IIncomingGrainCallContext context)
        {
            if (IsCompletedRecord(context) && s_held.TryGetValue(context.TargetId.Key.ToString()!, out var held))
            {
                await held.Wait();
            }

            await context.Invoke();
        }
    }

    internal sealed class OnItsWay : IOutgoingGrainCallFilter
    {
        public async Task Invoke(IOutgoingGrainCallContext context)
        {
            if (IsCompletedRecord(context) && s_sent.TryGetValue(context.TargetId.Key.ToString()!, out var held))
            {
                await held.Wait();
            }

            await context.Invoke();
        }
    }
}

/// <summary>Holds a chosen voice grain's <c>GetInfo</c> answers until the test lets them go, as a voice on a silo that is joining or
/// leaving the cluster would.</summary>
public sealed class VoiceGate : IIncomingGrainCallFilter
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, RecordGate.Held> s_held = new(StringComparer.Ordinal);

    public static RecordGate.Held Hold(string voiceId) => s_held[voiceId] = new RecordGate.Held();

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.InterfaceMethod?.Name == nameof(MitTts.Grains.Interfaces.IVoiceGrain.GetInfo)
            && s_held.TryGetValue(context.TargetId.Key.ToString()!, out var held))
        {
            await held.Wait();
        }

        await context.Invoke();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
