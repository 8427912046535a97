using Microsoft.Extensions.Configuration;

namespace MitTts.Gateway.Hosting;

/// <summary>The part of the seed's <c>tts</c> section the gateway reads itself: where models live (for the disk figures of <c>/status</c>).
/// The limits and defaults it checks before any grain call are live settings (<c>LiveSettings</c>).</summary>
public sealed class GatewayTtsOptions
{
    public const string Section = "tts";

    [ConfigurationKeyName("model_path")]
    public string ModelPath { get; set; } = "models";
}
