using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MitTts.Silo;

/// <summary>Console logging for the standalone silo at the seed's level (<c>logging:level</c>, MIT_TTS_LOG_LEVEL).</summary>
public static class SiloLogging
{
    public static void AddMitTtsSiloLogging(this HostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var level = ParseLevel(builder.Configuration["logging:level"]);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Logging.SetMinimumLevel(level);
        // Orleans is chatty at Information; its warnings (membership changes, dead silos) are what operators need.
        builder.Logging.AddFilter("Orleans", level > LogLevel.Warning ? level : LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft", level > LogLevel.Warning ? level : LogLevel.Warning);
        builder.Logging.AddFilter("Polly", level > LogLevel.Warning ? level : LogLevel.Warning);
    }

    /// <summary>The seed's level names: DEBUG, INFO, WARNING, ERROR, CRITICAL.</summary>
    public static LogLevel ParseLevel(string? level) => level?.Trim().ToUpperInvariant() switch
    {
        "TRACE" or "VERBOSE" => LogLevel.Trace,
        "DEBUG" => LogLevel.Debug,
        null or "" or "INFO" or "INFORMATION" => LogLevel.Information,
        "WARN" or "WARNING" => LogLevel.Warning,
        "ERROR" => LogLevel.Error,
        "CRITICAL" or "FATAL" => LogLevel.Critical,
        _ => throw new InvalidOperationException($"Unknown log level '{level}': use DEBUG, INFO, WARNING, ERROR or CRITICAL."),
    };
}
