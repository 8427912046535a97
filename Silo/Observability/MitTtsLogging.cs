using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MitTts.Grains.Configuration;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Compact;
using Serilog.Formatting.Display;

namespace MitTts.Silo.Observability;

/// <summary>Serilog for every MitTts process (gateway and silo): the seed's level (<c>logging:level</c>, changed live through
/// <c>PUT /api/v1/config</c>), compact JSON lines outside Development, and rotating files (<c>logging:file</c>, MIT_TTS_LOG_FILE).</summary>
/// <remarks>Properties pushed by the gateway (RequestId, SessionId, TaskId) and the trace and span ids are on every line they apply to.
/// User text is never logged: requests are logged by path, status and lengths.</remarks>
public static class MitTtsLogging
{
    private const string TextTemplate =
        "{Timestamp:HH:mm:ss.fff} {Level:u3} {Message:lj} {Properties:j}{NewLine}{Exception}";

    /// <summary>Adds Serilog as the host's logger; the level switch it returns (also a service) is what live configuration turns.</summary>
    public static LoggingLevelSwitch AddMitTtsLogging(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        var levels = new LoggingLevelSwitch(ParseLevel(configuration["logging:level"]));
        var json = UsesJson(configuration, builder.Environment);
        var file = configuration["logging:file"];
        var fileLimit = FileSizeLimitBytes(configuration);
        var node = configuration["cluster:node"];
        builder.Services.AddSingleton(levels);
        builder.Services.AddSerilog((services, log) =>
        {
            log.MinimumLevel.ControlledBy(levels)
                .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
                .MinimumLevel.Override("Orleans", LogEventLevel.Warning)
                .MinimumLevel.Override("Polly", LogEventLevel.Warning)
                .MinimumLevel.Override("StackExchange", LogEventLevel.Warning)
                .Enrich.FromLogContext()
                .Filter.ByExcluding(IsImpossibleStallWarning);
            if (!string.IsNullOrWhiteSpace(node))
            {
                log.Enrich.WithProperty("Node", node);
            }

            ITextFormatter? formatter = json ? new RenderedCompactJsonFormatter() : null;
            if (formatter is not null)
            {
                log.WriteTo.Console(formatter);
            }
            else
            {
                log.WriteTo.Console(outputTemplate: TextTemplate, formatProvider: CultureInfo.InvariantCulture);
            }

            if (!string.IsNullOrWhiteSpace(file))
            {
                // Under the configured name, rotated daily and at the size limit (100 MB) to name.1 … name.13 (14 files): a busy node cannot fill its
                // disk with logs, and the path set is the live log.
                log.WriteTo.Sink(new RotatingFileSink(file, formatter ?? new MessageTemplateTextFormatter(TextTemplate, CultureInfo.InvariantCulture),
                    fileLimit, kept: 13));
            }

            // The level follows PUT /api/v1/config on every node.
            services.GetService<LiveSettings>()?.OnChange(live => levels.MinimumLevel = ParseLevel(live.LogLevel));
        });
        return levels;
    }

    private static readonly DateTime s_processStart = System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime();

    /// <summary>Orleans' watchdog warning "Participant check thread has not completed for …" claiming a stall longer than this process has
    /// run: on a silo's first ticks the platform watchdog can measure from a component-check timestamp not yet set (zero), so nearly every
    /// start logged the machine's uptime as a possible deadlock. Only that impossible report is dropped; a real stall still logs.</summary>
    public static bool IsImpossibleStallWarning(LogEvent logEvent)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        if (!logEvent.MessageTemplate.Text.StartsWith("Participant check thread has not completed", StringComparison.Ordinal)
            || !logEvent.Properties.TryGetValue("TimeSinceLastTick", out var property) || property is not ScalarValue { Value: var value })
        {
            return false;
        }

        var stall = value switch
        {
            TimeSpan span => span,
            string text when TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => TimeSpan.Zero,
        };
        return stall > DateTime.UtcNow - s_processStart;
    }

    /// <summary>The size at which the log file rolls over (<c>logging:file_size_limit_mb</c>, default 100).</summary>
    public static long FileSizeLimitBytes(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var megabytes = configuration.GetValue("logging:file_size_limit_mb", 100.0);
        return megabytes > 0
            ? (long)(megabytes * 1024 * 1024)
            : throw new InvalidOperationException($"logging.file_size_limit_mb must be above 0, not {megabytes.ToString(CultureInfo.InvariantCulture)}.");
    }

    /// <summary>JSON lines unless <c>logging:format</c> says <c>text</c>, or it is unset and the environment is Development.</summary>
    public static bool UsesJson(IConfiguration configuration, IHostEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(environment);
        return configuration["logging:format"]?.Trim().ToLowerInvariant() switch
        {
            "json" => true,
            "text" => false,
            null or "" => !environment.IsDevelopment(),
            var other => throw new InvalidOperationException($"logging.format must be 'json' or 'text', not '{other}'."),
        };
    }

    /// <summary>The seed's level names (DEBUG, INFO, WARNING, ERROR, CRITICAL) and Serilog's own.</summary>
    public static LogEventLevel ParseLevel(string? level) => level?.Trim().ToUpperInvariant() switch
    {
        "TRACE" or "VERBOSE" => LogEventLevel.Verbose,
        "DEBUG" => LogEventLevel.Debug,
        null or "" or "INFO" or "INFORMATION" => LogEventLevel.Information,
        "WARN" or "WARNING" => LogEventLevel.Warning,
        "ERROR" => LogEventLevel.Error,
        "CRITICAL" or "FATAL" => LogEventLevel.Fatal,
        _ => throw new InvalidOperationException($"Unknown log level '{level}': use DEBUG, INFO, WARNING, ERROR or CRITICAL."),
    };

    /// <summary>The name the configuration shows for <paramref name="level"/> (TRACE, DEBUG, INFO, WARNING, ERROR or CRITICAL, whichever of
    /// its spellings was given), or null when <see cref="ParseLevel"/> does not know it.</summary>
    public static string? CanonicalLevel(string? level) => IsLevel(level)
        ? ParseLevel(level) switch
        {
            LogEventLevel.Verbose => "TRACE",
            LogEventLevel.Debug => "DEBUG",
            LogEventLevel.Information => "INFO",
            LogEventLevel.Warning => "WARNING",
            LogEventLevel.Error => "ERROR",
            _ => "CRITICAL",
        }
        : null;

    /// <summary>Whether <paramref name="level"/> is a level name <see cref="ParseLevel"/> knows.</summary>
    public static bool IsLevel(string? level)
    {
        try
        {
            ParseLevel(level);
            return level is { Length: > 0 };
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
