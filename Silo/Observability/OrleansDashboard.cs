using Microsoft.Extensions.Configuration;

namespace MitTts.Silo.Observability;

/// <summary>Whether the Orleans dashboard (<c>Microsoft.Orleans.Dashboard</c>, at <c>/dashboard</c> of the gateways) is on
/// (<c>monitoring:orleans_dashboard</c>, MIT_TTS_ORLEANS_DASHBOARD). Off by default: it profiles every grain call, a cost the audio path
/// should not pay unless an operator asks; it must be on for every silo and gateway of a cluster.</summary>
public static class OrleansDashboard
{
    public const string Path = "/dashboard";

    public static bool Enabled(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.GetValue("monitoring:orleans_dashboard", false);
    }
}
