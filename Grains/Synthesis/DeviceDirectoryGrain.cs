using MitTts.Grains.Interfaces;
using Orleans.Concurrency;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace MitTts.Grains.Synthesis;

/// <summary>Lists the live synthesizers from membership and each silo's advertised devices; nothing to keep, so any silo answers.</summary>
/// <remarks>For callers outside the silos (gateways); inside one, the dispatcher reads the same list from its own silo's membership
/// view (<see cref="DeviceDirectory"/>) without a grain call.</remarks>
[StatelessWorker]
public sealed class DeviceDirectoryGrain(IClusterMembershipService membership, ISiloMetadataCache metadata) : Grain, IDeviceDirectoryGrain
{
    Task<IReadOnlyList<string>> IDeviceDirectoryGrain.GetDevices() => Task.FromResult(DeviceDirectory.Devices(membership, metadata));
}

/// <summary>The live synthesizers as this silo's membership view and the silos' advertised metadata list them, sorted.</summary>
public static class DeviceDirectory
{
    public static IReadOnlyList<string> Devices(IClusterMembershipService membership, ISiloMetadataCache metadata)
    {
        ArgumentNullException.ThrowIfNull(membership);
        ArgumentNullException.ThrowIfNull(metadata);
        var devices = new List<string>();
        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            if (member.Status != SiloStatus.Active
                || !metadata.GetSiloMetadata(member.SiloAddress).Metadata.TryGetValue(DeviceKeys.MetadataKey, out var advertised))
            {
                continue;
            }

            foreach (var device in advertised.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                devices.Add(DeviceKeys.For(member.Name, device));
            }
        }

        devices.Sort(StringComparer.Ordinal);
        return devices;
    }
}
