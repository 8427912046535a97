using System.Text.Json;
using MitTts.Grains.Interfaces;
using MitTts.Silo.Observability;

namespace MitTts.Gateway.Apis;

/// <summary>Reads a <c>PUT /api/v1/config</c> body into a patch of the live settings, or the first error in it, naming the field
/// (<c>tts.max_text_length</c>) at fault. Which voices exist is checked by the caller, against the cluster.</summary>
public static class ConfigPatchReader
{
    public const int MaxRatePerMinute = 1_000_000;
    public const int MaxCacheSize = 1_000_000;
    public const int MaxTextLengthLimit = 100_000;
    public const int MaxQueueLimit = 100_000;

    public static (LiveConfigOverrides? Patch, ApiError? Error) Read(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return (null, ApiError.BadRequest("invalid_json", "The body must be a JSON object like the one GET /api/v1/config returns."));
        }

        var patch = new LiveConfigOverrides(0);
        foreach (var section in root.EnumerateObject())
        {
            if (section.Name == "version")
            {
                continue; // echoed back from GET; not a setting
            }

            if (section.Name is not ("rate_limits" or "tts" or "scheduling" or "logging"))
            {
                return (null, ApiError.BadRequest("unknown_config_field", $"'{section.Name}' is not a section of the live settings; GET /api/v1/config lists them.", section.Name));
            }

            if (section.Value.ValueKind != JsonValueKind.Object)
            {
                return (null, Invalid(section.Name, "must be an object"));
            }

            foreach (var setting in section.Value.EnumerateObject())
            {
                var field = $"{section.Name}.{setting.Name}";
                var value = setting.Value;
                ApiError? error;
                (patch, error) = field switch
                {
                    // 0: no limit, as "off" in the configuration.
                    "rate_limits.synthesize_per_minute" => Int(value, field, 0, MaxRatePerMinute, v => patch with { SynthesizePerMinute = v }),
                    "rate_limits.websocket_per_minute" => Int(value, field, 0, MaxRatePerMinute, v => patch with { WebSocketPerMinute = v }),
                    "rate_limits.health_per_minute" => Int(value, field, 0, MaxRatePerMinute, v => patch with { HealthPerMinute = v }),
                    "tts.cache_size" => Int(value, field, 0, MaxCacheSize, v => patch with { CacheSize = v }),
                    "tts.max_text_length" => Int(value, field, 1, MaxTextLengthLimit, v => patch with { MaxTextLength = v }),
                    "scheduling.max_queue_per_level" => Int(value, field, 1, MaxQueueLimit, v => patch with { MaxQueuePerLevel = v }),
                    "tts.default_voice" => Voice(value, field, patch),
                    "logging.level" => Level(value, field, patch),
                    _ => (patch, ApiError.BadRequest("unknown_config_field", $"'{field}' is not a live setting; GET /api/v1/config lists them.", field)),
                };
                if (error is not null)
                {
                    return (null, error);
                }
            }
        }

        return (patch, null);
    }

    private static (LiveConfigOverrides, ApiError?) Int(JsonElement value, string field, int min, int max, Func<int, LiveConfigOverrides> set)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number))
        {
            return (null!, Invalid(field, "must be a whole number"));
        }

        if (number < min || number > max)
        {
            return (null!, ApiError.BadRequest("config_value_out_of_range", $"{field} must be between {min} and {max}.", field));
        }

        return (set((int)number), null);
    }

    private static (LiveConfigOverrides, ApiError?) Voice(JsonElement value, string field, LiveConfigOverrides patch)
    {
        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { } voice)
        {
            return (null!, Invalid(field, "must be a voice id"));
        }

        return Grains.Voices.VoiceCatalog.VoiceIdPattern().IsMatch(voice)
            ? (patch with { DefaultVoice = voice }, null)
            : (null!, ApiError.BadRequest("invalid_voice_id", $"{field} must look like es-female-1 (language-descriptor-number).", field));
    }

    private static (LiveConfigOverrides, ApiError?) Level(JsonElement value, string field, LiveConfigOverrides patch)
    {
        // Stored under its one name: the aliases (VERBOSE, INFORMATION, WARN, FATAL) are read, GET shows what they mean.
        var level = MitTtsLogging.CanonicalLevel(value.ValueKind == JsonValueKind.String ? value.GetString() : null);
        return level is not null
            ? (patch with { LogLevel = level }, null)
            : (null!, ApiError.BadRequest("invalid_log_level", $"{field} must be TRACE, DEBUG, INFO, WARNING, ERROR or CRITICAL.", field));
    }

    private static ApiError Invalid(string field, string what) =>
        ApiError.BadRequest("invalid_config_value", $"{field} {what}.", field);
}
