using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace MitTts.Grains.Synthesis;

/// <summary>Places a synthesizer (key <c>{node}/{device}</c>) on the active silo named <c>{node}</c>, and nowhere else.</summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class DevicePlacement : PlacementStrategy
{
    public static DevicePlacement Instance { get; } = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class DevicePlacementAttribute() : PlacementAttribute(DevicePlacement.Instance);

/// <summary>Finds the silo a synthesizer key names; a device whose silo is gone cannot be activated anywhere else.</summary>
public sealed class DevicePlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var key = target.GrainIdentity.Key.ToString()!;
        var node = DeviceKeys.Node(key);
        var compatible = context.GetCompatibleSilos(target);
        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active && member.Name == node && compatible.Contains(member.SiloAddress))
            {
                return Task.FromResult(member.SiloAddress);
            }
        }

        throw new OrleansException($"Synthesizer {key} cannot be placed: no active silo is named '{node}'.");
    }
}

/// <summary>Synthesizer keys: <c>{node}/{device}</c>.</summary>
public static class DeviceKeys
{
    public const string MetadataKey = "mittts.devices";

    public static string For(string node, string device) => $"{node}/{device}";

    public static string Node(string deviceKey)
    {
        ArgumentNullException.ThrowIfNull(deviceKey);
        var slash = deviceKey.LastIndexOf('/');
        return slash < 0 ? deviceKey : deviceKey[..slash];
    }
}
