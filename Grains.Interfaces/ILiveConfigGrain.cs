using Orleans.Concurrency;

namespace MitTts.Grains.Interfaces;

/// <summary>The cluster's live settings (key: 0): what operators changed at run time through <c>PUT /api/v1/config</c>, on top of each
/// process's own configuration. Every silo and gateway pulls changes with <see cref="WaitForChange"/>; persisted in cluster mode.</summary>
public interface ILiveConfigGrain : IGrainWithIntegerKey
{
    /// <summary>The overrides now.</summary>
    [AlwaysInterleave]
    Task<LiveConfigOverrides> GetOverrides();

    /// <summary>Merges <paramref name="patch"/> (its non-null fields) into the overrides, stores them and wakes every waiter; returns the new overrides.</summary>
    Task<LiveConfigOverrides> Apply(LiveConfigOverrides patch);

    /// <summary>Answers as soon as the overrides are newer than <paramref name="knownVersion"/>, or with the current ones after
    /// <paramref name="maxWait"/> (kept under Orleans' response timeout), so a process follows changes without polling.</summary>
    [AlwaysInterleave]
    Task<LiveConfigOverrides> WaitForChange(long knownVersion, TimeSpan maxWait);
}

/// <summary>Settings changed at run time; null fields keep the process's configured value. <see cref="Version"/> counts changes.</summary>
[GenerateSerializer, Immutable]
public sealed record LiveConfigOverrides(
    [property: Id(0)] long Version,
    [property: Id(1)] int? SynthesizePerMinute = null,
    [property: Id(2)] int? WebSocketPerMinute = null,
    [property: Id(3)] int? HealthPerMinute = null,
    [property: Id(4)] string? DefaultVoice = null,
    [property: Id(5)] int? CacheSize = null,
    [property: Id(6)] int? MaxTextLength = null,
    [property: Id(7)] int? MaxQueuePerLevel = null,
    [property: Id(8)] string? LogLevel = null)
{
    public static LiveConfigOverrides None { get; } = new(0);

    /// <summary>These overrides with <paramref name="patch"/>'s non-null fields on top, one version on.</summary>
    public LiveConfigOverrides Merge(LiveConfigOverrides patch)
    {
        ArgumentNullException.ThrowIfNull(patch);
        return new LiveConfigOverrides(
            Version + 1,
            patch.SynthesizePerMinute ?? SynthesizePerMinute,
            patch.WebSocketPerMinute ?? WebSocketPerMinute,
            patch.HealthPerMinute ?? HealthPerMinute,
            patch.DefaultVoice ?? DefaultVoice,
            patch.CacheSize ?? CacheSize,
            patch.MaxTextLength ?? MaxTextLength,
            patch.MaxQueuePerLevel ?? MaxQueuePerLevel,
            patch.LogLevel ?? LogLevel);
    }
}
