using Microsoft.Extensions.Configuration;

namespace MitTts.Gateway.Hosting;

/// <summary>The part of the seed's <c>tts</c> section the gateway reads itself: request limits and defaults it checks before any grain
/// call, and where models live (for the disk figures of <c>/status</c>). The silo binds the whole section (<c>TtsOptions</c>); a
/// client gateway has no silo, so it binds its own, with the same defaults.</summary>
public sealed class GatewayTtsOptions
{
    public const string Section = "tts";

    [ConfigurationKeyName("max_text_length")]
    public int MaxTextLength { get; set; } = 5000;

    [ConfigurationKeyName("default_voice")]
    public string DefaultVoice { get; set; } = "es-female-1";

    [ConfigurationKeyName("model_path")]
    public string ModelPath { get; set; } = "models";
}
