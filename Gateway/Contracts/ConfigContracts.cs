namespace MitTts.Gateway.Contracts;

/// <summary>The live settings of <c>GET|PUT /api/v1/config</c>, grouped as in the seed's configuration file; a PUT body is the same
/// shape with only the fields to change. <c>Version</c> counts the changes made at run time (0: as configured).</summary>
public sealed record ConfigResponse(long Version, RateLimitsConfig RateLimits, TtsConfig Tts, SchedulingConfig Scheduling, LoggingConfig Logging);

/// <summary>Requests allowed per minute and client (the seed's <c>security.rate_limits</c>).</summary>
public sealed record RateLimitsConfig(int SynthesizePerMinute, int WebsocketPerMinute, int HealthPerMinute);

/// <summary>Request defaults and limits, and the audio cache's entry count.</summary>
public sealed record TtsConfig(string DefaultVoice, int CacheSize, int MaxTextLength);

/// <summary>Queue limits: jobs one priority level of one device may hold before requests get 429 <c>busy</c>.</summary>
public sealed record SchedulingConfig(int MaxQueuePerLevel);

/// <summary>The log level of every node: DEBUG, INFO, WARNING, ERROR or CRITICAL.</summary>
public sealed record LoggingConfig(string Level);
