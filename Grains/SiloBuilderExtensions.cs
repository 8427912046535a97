using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;
using MitTts.Grains.Voices;
using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Espeak;

namespace MitTts.Grains;

/// <summary>Adds MitTts's grains and the services they need to a silo; storage and clustering are the host's choice.</summary>
public static class SiloBuilderExtensions
{
    public static ISiloBuilder AddMitTtsGrains(this ISiloBuilder silo, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(configuration);

        var services = silo.Services;
        services.Configure<TtsOptions>(configuration.GetSection(TtsOptions.Section));
        services.Configure<SessionOptions>(configuration.GetSection(SessionOptions.Section));
        services.Configure<NodeOptions>(configuration.GetSection(NodeOptions.Section));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ISpeechEngine, EspeakEngine>();
        services.AddSingleton<SpeechEngines>();
        services.AddSingleton<VoiceCatalog>();
        services.AddSingleton<SynthesisDispatcher>();
        services.AddSingleton<SpeechRenderer>();

        // Each silo announces its synthesizers once it is active, which also activates them here (PreferLocalPlacement).
        silo.AddStartupTask(async (provider, _) =>
        {
            var node = provider.GetRequiredService<IOptions<NodeOptions>>().Value;
            var grains = provider.GetRequiredService<IGrainFactory>();
            foreach (var device in node.EffectiveDevices)
            {
                var key = node.DeviceKey(device);
                await grains.GetGrain<ISynthesizerGrain>(key).GetStatus();
                await grains.GetGrain<IDeviceDirectoryGrain>(0).Register(key);
            }
        });
        return silo;
    }
}
