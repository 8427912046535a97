using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MitTts.Grains.Channels;
using MitTts.Grains.Configuration;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Results;
using MitTts.Grains.Synthesis;
using MitTts.Grains.Synthesis.Neural;
using MitTts.Grains.Voices;
using MitTts.Speech.Audio;
using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Espeak;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace MitTts.Grains;

/// <summary>Adds MitTts's grains and the services they need to a silo; storage and clustering are the host's choice.</summary>
public static class SiloBuilderExtensions
{
    /// <summary>The namespace of StackExchange.Redis's exceptions, which Orleans serializes only when told to (silos and clients alike).</summary>
    public const string RedisExceptionNamespace = "StackExchange.Redis";

    public static ISiloBuilder AddMitTtsGrains(this ISiloBuilder silo, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(configuration);

        var services = silo.Services;
        services.Configure<TtsOptions>(configuration.GetSection(TtsOptions.Section));
        services.Configure<SessionOptions>(configuration.GetSection(SessionOptions.Section));
        services.Configure<ChannelOptions>(configuration.GetSection(ChannelOptions.Section));
        services.Configure<NodeOptions>(configuration.GetSection(NodeOptions.Section));
        services.Configure<SynthesisQueueOptions>(configuration.GetSection(SynthesisQueueOptions.Section));
        services.AddSingleton(TimeProvider.System);
        // Redis's exceptions cross to the gateways as themselves (a codec error otherwise), so an outage reads as one there: 503.
        services.Configure<Orleans.Serialization.ExceptionSerializationOptions>(options => options.SupportedNamespacePrefixes.Add(RedisExceptionNamespace));
        services.AddSingleton<ISpeechEngine, EspeakEngine>();
        services.AddSingleton<IPhonemizer, EspeakPhonemizer>();
        services.AddSingleton<NeuralEngines>();
        services.AddSingleton<SpeechEngines>();
        services.AddSingleton<VoiceCatalog>();
        services.AddSingleton<SynthesisDispatcher>();
        services.AddMetrics();
        services.AddSingleton<SchedulingMetrics>();
        services.TryAddSingleton(new LiveSettings(configuration));
        services.AddHostedService<SiloGauges>();
        services.AddHostedService<Voices.VoiceChangeReporter>();
        services.AddSingleton<SpeechRenderer>();
        services.AddSingleton<StreamGainWarmup>();
        services.AddSingleton<ChannelBuffers>();
        services.AddSingleton<StreamStageMetrics>();
        services.TryAddSingleton<IResultStore>(provider => new TieredResultStore(
            ResultStoreSettings(provider.GetRequiredService<IOptions<TtsOptions>>().Value),
            provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<TieredResultStore>>()));
        services.AddSingleton(provider =>
        {
            var tts = provider.GetRequiredService<IOptions<TtsOptions>>().Value;
            var settings = provider.GetRequiredService<LiveSettings>();
            var cache = new AudioCache(settings.Current.CacheSize, tts.CacheMaxBytes);
            settings.OnChange(live => cache.Resize(live.CacheSize));
            return cache;
        });

        // Devices are advertised in silo metadata; the placement director pins each synthesizer to the silo its key names.
        var node = configuration.GetSection(NodeOptions.Section).Get<NodeOptions>() ?? new NodeOptions();
        silo.UseSiloMetadata(new Dictionary<string, string> { [DeviceKeys.MetadataKey] = string.Join(',', node.EffectiveDevices) });
        silo.AddPlacementDirector<DevicePlacement, DevicePlacementDirector>();

        // Activity.Current crosses grain calls, so one trace runs from the HTTP request through the grains to the engine.
        silo.AddActivityPropagation();
        services.AddSingleton<DeviceFailureMonitor>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<DeviceFailureMonitor>());
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, SynthesizerShutdown>();

        // Each silo activates its own synthesizers when it becomes active, so the first request finds them warm.
        silo.AddStartupTask(async (provider, _) =>
        {
            var devices = provider.GetRequiredService<IOptions<NodeOptions>>().Value.EffectiveDevices;
            var name = provider.GetRequiredService<ILocalSiloDetails>().Name;

            // Neural sessions (when there are neural voices) are opened off the silo's threads; a broken model is reported, never fatal.
            var neural = provider.GetRequiredService<NeuralEngines>();
            await Task.Run(() => neural.Start(devices), CancellationToken.None);
            if (neural.HasVoices && neural.OpensAtStartup && provider.GetRequiredService<IOptions<TtsOptions>>().Value.CalibrateAtStartup)
            {
                // In the background: the silo serves meanwhile, and a stream that comes first calibrates itself.
                var stopping = provider.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
                Task.Run(() => provider.GetRequiredService<StreamGainWarmup>().Run(devices, stopping), CancellationToken.None).Ignore();
            }

            var grains = provider.GetRequiredService<IGrainFactory>();
            var metrics = provider.GetRequiredService<SchedulingMetrics>();
            foreach (var device in devices)
            {
                // Its series exist from now, at 0, rather than from its first job.
                metrics.ForDevice(DeviceKeys.For(name, device));
                await grains.GetGrain<ISynthesizerGrain>(DeviceKeys.For(name, device)).GetStatus();
            }
        });
        return silo;
    }

    /// <summary>The result store's budgets from <c>tts</c> (<c>result_store_max_bytes</c>, <c>result_store_disk_bytes</c>,
    /// <c>results_dir</c>); without a folder, one of this process's own under the temp folder.</summary>
    private static ResultStoreOptions ResultStoreSettings(TtsOptions tts) => new()
    {
        MemoryBudgetBytes = tts.ResultStoreMaxBytes ?? ResultStoreOptions.DefaultMemoryBudget(),
        DiskBudgetBytes = tts.ResultStoreDiskBytes,
        Directory = tts.ResultsDir is { Length: > 0 } folder ? folder : ResultsDirectory.ForThisProcess(),
    };
}
