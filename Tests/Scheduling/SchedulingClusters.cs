using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MitTts.Grains;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Results;
using MitTts.Speech.Engines;
using MitTts.Tests.Support;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;
using Orleans.TestingHost;

namespace MitTts.Tests.Scheduling;

/// <summary>Test clusters whose voice <c>zz-test-1</c> is spoken by the <see cref="ScriptedEngine"/>, with storage that outlives silos.</summary>
public abstract class SchedulingCluster : IAsyncLifetime
{
    public const string Voice = "zz-test-1";
    public const int MaxQueuePerLevel = 20;

    private static readonly string s_models = CreateModels();

    private static readonly TieredResultStore s_results = new(
        new ResultStoreOptions { DiskBudgetBytes = 0, Directory = ResultsDirectory.ForThisProcess() }, TimeProvider.System);

    protected SchedulingCluster(short silos, string devices, bool gatewayPerSilo = false, bool writeBehind = false, double? firstAudioHoldMs = null,
        double? resumeWindowSeconds = null)
    {
        var builder = new TestClusterBuilder(silos);
        builder.Properties["devices"] = devices;
        builder.Properties["write_behind"] = writeBehind ? "true" : "false";
        if (firstAudioHoldMs is { } hold)
        {
            builder.Properties["first_audio_hold_ms"] = hold.ToString(CultureInfo.InvariantCulture);
        }

        if (resumeWindowSeconds is { } window)
        {
            builder.Properties["resume_window_seconds"] = window.ToString(CultureInfo.InvariantCulture);
        }

        // Unless asked otherwise, only the primary silo is a client gateway, so killing another silo never cuts the test's own
        // connection (and channels, placed where the call enters, live on the primary).
        builder.Options.GatewayPerSilo = gatewayPerSilo;
        builder.AddSiloBuilderConfigurator<Configurator>();
        Cluster = builder.Build();
    }

    public TestCluster Cluster { get; }

    public IGrainFactory Grains => Cluster.GrainFactory;

    public async Task InitializeAsync()
    {
        ScriptedEngine.Reset();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        ScriptedEngine.Reset();
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }

    /// <summary>The meter factory of the first silo: instruments whose <c>Meter.Scope</c> is it are that silo's, not another test's.</summary>
    public System.Diagnostics.Metrics.IMeterFactory Meters =>
        ((Orleans.TestingHost.InProcessSiloHandle)Cluster.Silos[0]).SiloHost.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();

    /// <summary>A task's stored file, waited for: a channel's reader has a completed task's end once its record is written, but after a
    /// failover the record may still be on its way (the end waits for it 2 s at most).</summary>
    public async Task<byte[]> StoredAudio(string taskId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            if (await Grains.GetGrain<ITaskGrain>(taskId).GetAudio() is { } audio)
            {
                return audio.Data;
            }

            Xunit.Assert.True(DateTime.UtcNow < deadline, $"task {taskId} has no stored file 10 s after its end");
            await Task.Delay(20);
        }
    }

    public ITaskGrain NewTask() => Grains.GetGrain<ITaskGrain>("task_" + Guid.NewGuid().ToString("N"));

    public static SynthesisRequest Request(string text, Priority priority = Priority.Normal, string? session = null) =>
        new(text, Voice, AudioFormat.Wav, priority, session, 1.0, 1.0);

    /// <summary>Submits <paramref name="text"/> as a PCM task of the channel's session (<paramref name="whole"/>: <c>stream: false</c>);
    /// returns its id.</summary>
    public static async Task<string> SubmitPcm(IAudioChannelGrain channel, string text, bool whole = false)
    {
        var taskId = "task_" + Guid.NewGuid().ToString("N");
        var request = Request(text) with { Format = AudioFormat.Pcm, SessionId = channel.GetPrimaryKeyString() };
        Assert.IsType<TaskAccepted>(await channel.Submit(new ChannelTaskInfo(taskId, null, null, whole), request));
        return taskId;
    }

    private static string CreateModels()
    {
        var folder = Path.Combine(Path.GetTempPath(), "mittts-scheduling-models");
        Directory.CreateDirectory(folder);
        File.WriteAllText(
            Path.Combine(folder, "voices.json"),
            $$"""{"voices": [{"id": "{{Voice}}", "language": "zz", "gender": "female", "name": "Test", "description": "Scripted test voice", "engine": "{{ScriptedEngine.EngineName}}", "engine_voice": "tone"}]}""");
        return folder;
    }

    private sealed class Configurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var devices = siloBuilder.Configuration["devices"] ?? "cpu:0";
            var settings = new Dictionary<string, string?>
            {
                ["tts:model_path"] = s_models,

                // No audio cache: every request must reach the scripted engine for its order to be observed.
                ["tts:cache_size"] = "0",
                ["scheduling:max_queue_per_level"] = MaxQueuePerLevel.ToString(CultureInfo.InvariantCulture),
                ["scheduling:aging_seconds"] = "600",
            };
            if (siloBuilder.Configuration["first_audio_hold_ms"] is { } hold)
            {
                settings["websocket:first_audio_hold_ms"] = hold;
            }

            if (siloBuilder.Configuration["resume_window_seconds"] is { } window)
            {
                settings["websocket:resume_window_seconds"] = window;
            }

            var list = devices.Split(',');
            for (var i = 0; i < list.Length; i++)
            {
                settings[$"cluster:devices:{i}"] = list[i];
            }

            var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
            foreach (var name in new[] { StorageNames.Tasks, StorageNames.Sessions, StorageNames.Ledgers })
            {
                siloBuilder.Services.AddGrainStorage(name, (sp, n) => new SharedGrainStorage(n, sp.GetRequiredService<Orleans.Serialization.DeepCopier>(), sp.GetRequiredService<ILocalSiloDetails>().SiloAddress));
            }

            // One result store for every silo, as Redis is in cluster mode: a finished task's next activation may be on another silo.
            if (siloBuilder.Configuration["write_behind"] == "true")
            {
                // As in cluster mode: each silo holds what the shared store does not take at once, and writes it behind.
                siloBuilder.Services.AddSingleton<IResultStore>(sp => new WriteBehindResultStore(
                    GatedResultStore.Register(sp.GetRequiredService<ILocalSiloDetails>().SiloAddress, s_results), 64 << 20, TimeProvider.System)
                    { PutWait = TimeSpan.FromMilliseconds(200) });
            }
            else
            {
                siloBuilder.Services.AddSingleton<IResultStore>(s_results);
            }
            siloBuilder.UseInMemoryReminderService();
            siloBuilder.Services.AddSingleton<ISpeechEngine, ScriptedEngine>();
            siloBuilder.Services.Configure<ClusterMembershipOptions>(options =>
            {
                options.ProbeTimeout = TimeSpan.FromMilliseconds(500);
                options.NumMissedProbesLimit = 2;
                options.NumVotesForDeathDeclaration = 1;
                options.TableRefreshTimeout = TimeSpan.FromMilliseconds(500);
            });
            siloBuilder.AddMitTtsGrains(configuration);
        }
    }
}

/// <summary>Three silos, each a client gateway, whose results are written behind through a <see cref="GatedResultStore"/> per silo.</summary>
public sealed class WriteBehindCluster() : SchedulingCluster(3, "cpu:0", gatewayPerSilo: true, writeBehind: true);

/// <summary>One silo with one device: ordering, preemption, fairness and admission are observable.</summary>
public sealed class SingleDeviceCluster() : SchedulingCluster(1, "cpu:0");

/// <summary>Three silos with two devices each: placement.</summary>
public sealed class ThreeSiloCluster() : SchedulingCluster(3, "cpu:0,cpu:1");

/// <summary>Three silos with two devices each, one of which the failover test kills.</summary>
public sealed class FailoverCluster() : SchedulingCluster(3, "cpu:0,cpu:1");

/// <summary>Three silos, each a client gateway: a session's channel lives on the silo its first call entered, which a test can kill.</summary>
public sealed class GatewayPerSiloCluster() : SchedulingCluster(3, "cpu:0", gatewayPerSilo: true);

/// <summary>One silo whose channels hold a task's start for its first audio far longer than any test waits (a reader in another
/// process gets both in one answer however slow the machine), so that the hold is observed with the engine paused.</summary>
public sealed class LongHoldCluster() : SchedulingCluster(1, "cpu:0", firstAudioHoldMs: 60_000);

/// <summary>One silo whose channels give a reader that went one second to come back.</summary>
public sealed class ShortResumeCluster() : SchedulingCluster(1, "cpu:0", resumeWindowSeconds: 1);

/// <summary>The tests sharing the static <see cref="ScriptedEngine"/> run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class SchedulingCollection : ICollectionFixture<SingleDeviceCluster>
{
    public const string Name = "scheduling";
}
