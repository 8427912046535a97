using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace MitTts.Silo;

/// <summary>Reads MitTts configuration the way the seed documents it: its JSON file and its <c>MIT_TTS_*</c> variables.</summary>
/// <remarks>Order, later wins: the JSON file named by <c>MIT_TTS_CONFIG_FILE</c> (or <c>--config</c>), then the seed's variables.</remarks>
public static partial class MitTtsConfiguration
{
    public const string ConfigFileVariable = "MIT_TTS_CONFIG_FILE";

    /// <summary>Seed variable → configuration key; list-valued variables are comma separated.</summary>
    public static readonly FrozenDictionary<string, string> Variables = new Dictionary<string, string>
    {
        ["MIT_TTS_HOST"] = "server:host",
        ["MIT_TTS_HTTP_PORT"] = "server:http_port",
        ["MIT_TTS_WS_PORT"] = "server:ws_port",
        ["MIT_TTS_WS_RESUME_WINDOW"] = "websocket:resume_window_seconds",
        ["MIT_TTS_WS_RESUME_BUFFER_BYTES"] = "websocket:resume_buffer_bytes",
        ["MIT_TTS_WS_MAX_MESSAGE_BYTES"] = "websocket:max_message_bytes",
        ["MIT_TTS_WS_MAX_MESSAGES_PER_SECOND"] = "websocket:max_messages_per_second",
        ["MIT_TTS_WORKERS"] = "server:workers",
        ["MIT_TTS_MAX_CONNECTIONS"] = "server:max_connections",
        ["MIT_TTS_MODEL_PATH"] = "tts:model_path",
        ["MIT_TTS_NEURAL_SESSIONS"] = "tts:neural_sessions",
        ["MIT_TTS_CALIBRATE_AT_STARTUP"] = "tts:calibrate_at_startup",
        ["MIT_TTS_ONNX_THREADS"] = "tts:onnx_threads",
        ["MIT_TTS_MAX_BATCH"] = "tts:max_batch",
        ["MIT_TTS_MAX_BATCH_CPU"] = "tts:max_batch_cpu",
        ["MIT_TTS_CACHE_SIZE"] = "tts:cache_size",
        ["MIT_TTS_CACHE_MAX_BYTES"] = "tts:cache_max_bytes",
        ["MIT_TTS_MAX_TEXT_LENGTH"] = "tts:max_text_length",
        ["MIT_TTS_DEFAULT_VOICE"] = "tts:default_voice",
        ["MIT_TTS_RESULT_TTL"] = "tts:result_ttl_seconds",
        ["MIT_TTS_RESULT_STORE_MAX_BYTES"] = "tts:result_store_max_bytes",
        ["MIT_TTS_RESULT_STORE_DISK_BYTES"] = "tts:result_store_disk_bytes",
        ["MIT_TTS_RESULT_STORE_PENDING_BYTES"] = "tts:result_store_pending_bytes",
        ["MIT_TTS_RESULTS_DIR"] = "tts:results_dir",
        ["MIT_TTS_SUPPORTED_LANGUAGES"] = "tts:supported_languages",
        ["MIT_TTS_REDIS_URL"] = "redis:url",
        ["MIT_TTS_DB_URL"] = "database:url",
        ["MIT_TTS_JWT_SECRET"] = "security:jwt_secret",
        ["MIT_TTS_CORS_ORIGINS"] = "security:cors_origins",
        ["MIT_TTS_TRUSTED_PROXIES"] = "security:forwarded:known_proxies",
        ["MIT_TTS_TRUSTED_NETWORKS"] = "security:forwarded:known_networks",
        ["JWT_SECRET_KEY"] = "auth:jwt_secret",
        ["MIT_TTS_AUTH_DISABLED"] = "auth:disabled",
        ["MIT_TTS_API_KEYS"] = "auth:api_key_list",
        ["MIT_TTS_USER_MAX_PRIORITY"] = "auth:user_max_priority",
        ["MIT_TTS_PREMIUM_MAX_PRIORITY"] = "auth:premium_max_priority",
        ["MIT_TTS_RATE_LIMIT_SYNTHESIZE"] = "security:rate_limits:synthesize",
        ["MIT_TTS_RATE_LIMIT_WEBSOCKET"] = "security:rate_limits:websocket",
        ["MIT_TTS_RATE_LIMIT_HEALTH"] = "security:rate_limits:health",
        ["MIT_TTS_LOG_LEVEL"] = "logging:level",
        ["MIT_TTS_LOG_FILE"] = "logging:file",
        ["MIT_TTS_METRICS_ENABLED"] = "monitoring:metrics_enabled",
        ["MIT_TTS_METRICS_PUBLIC"] = "metrics:public",
        ["MIT_TTS_PROMETHEUS_PORT"] = "monitoring:prometheus_port",
        ["MIT_TTS_ORLEANS_DASHBOARD"] = "monitoring:orleans_dashboard",
        ["MIT_TTS_WYOMING_PORT"] = "wyoming:port",
        ["MIT_TTS_WYOMING_HOST"] = "wyoming:host",
        ["MIT_TTS_SESSION_IDLE_TIMEOUT"] = "sessions:idle_timeout_seconds",
        ["MIT_TTS_NODE_NAME"] = "cluster:node",
        ["MIT_TTS_DEVICES"] = "cluster:devices",
        ["MIT_TTS_AGING_SECONDS"] = "scheduling:aging_seconds",
        ["MIT_TTS_MAX_QUEUE_PER_LEVEL"] = "scheduling:max_queue_per_level",
        ["MIT_TTS_SILO_PORT"] = "cluster:silo_port",
        ["MIT_TTS_GATEWAY_PORT"] = "cluster:gateway_port",
        ["MIT_TTS_CLUSTER_ID"] = "cluster:id",
        ["MIT_TTS_ADVERTISED_IP"] = "cluster:advertised_ip",
        ["MIT_TTS_GATEWAY_MODE"] = "cluster:gateway_mode",
        ["MIT_TTS_PROBE_TIMEOUT"] = "cluster:probe_timeout_seconds",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenSet<string> s_listKeys = new[] { "tts:supported_languages", "security:cors_origins", "security:forwarded:known_proxies", "security:forwarded:known_networks", "cluster:devices" }.ToFrozenSet();

    /// <summary>Adds the JSON file (when one is named) and the seed's variables to <paramref name="builder"/>.</summary>
    public static IConfigurationBuilder AddMitTtsSources(this IConfigurationBuilder builder, string[] args, IReadOnlyDictionary<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(args);
        environment ??= ReadEnvironment();

        var file = ConfigFileFrom(args) ?? environment.GetValueOrDefault(ConfigFileVariable);
        if (!string.IsNullOrWhiteSpace(file))
        {
            builder.AddInMemoryCollection(ReadJsonFile(file, environment));
        }

        builder.AddInMemoryCollection(FromVariables(environment));
        return builder;
    }

    /// <summary>The configuration entries the seed's variables set.</summary>
    public static IEnumerable<KeyValuePair<string, string?>> FromVariables(IReadOnlyDictionary<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        foreach (var (variable, key) in Variables)
        {
            if (environment.TryGetValue(variable, out var value) && value is not null)
            {
                if (s_listKeys.Contains(key))
                {
                    var items = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    for (var i = 0; i < items.Length; i++)
                    {
                        yield return new($"{key}:{i}", items[i]);
                    }
                }
                else
                {
                    yield return new(key, value);
                }
            }
        }
    }

    /// <summary>Flattens the seed's production JSON into configuration entries, expanding <c>${VAR}</c> from the environment.</summary>
    public static IEnumerable<KeyValuePair<string, string?>> ReadJsonFile(string path, IReadOnlyDictionary<string, string?> environment)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var entries = new List<KeyValuePair<string, string?>>();
        Flatten(document.RootElement, null, entries, environment);
        return entries;
    }

    private static void Flatten(JsonElement element, string? prefix, List<KeyValuePair<string, string?>> entries, IReadOnlyDictionary<string, string?> environment)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    Flatten(property.Value, prefix is null ? property.Name : $"{prefix}:{property.Name}", entries, environment);
                }

                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Flatten(item, $"{prefix}:{index.ToString(CultureInfo.InvariantCulture)}", entries, environment);
                    index++;
                }

                break;
            case JsonValueKind.String:
                entries.Add(new(prefix!, Placeholder().Replace(element.GetString()!, m => environment.GetValueOrDefault(m.Groups[1].Value) ?? string.Empty)));
                break;
            case JsonValueKind.Null:
                entries.Add(new(prefix!, null));
                break;
            default:
                entries.Add(new(prefix!, element.GetRawText()));
                break;
        }
    }

    private static string? ConfigFileFrom(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Length)
            {
                return args[i + 1];
            }

            if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                return args[i]["--config=".Length..];
            }
        }

        return null;
    }

    private static Dictionary<string, string?> ReadEnvironment()
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            environment[(string)entry.Key] = entry.Value as string;
        }

        return environment;
    }

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}
