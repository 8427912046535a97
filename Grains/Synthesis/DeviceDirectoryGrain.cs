using MitTts.Grains.Interfaces;
using Orleans.Concurrency;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace MitTts.Grains.Synthesis;

/// <summary>Lists the live synthesizers from membership and each silo's advertised devices; nothing to keep, so any silo answers.</summary>
[StatelessWorker]
public sealed class DeviceDirectoryGrain(IClusterMembershipService membership, ISiloMetadataCache metadata) : Grain, IDeviceDirectoryGrain
{
    Task<IReadOnlyList<string>> IDeviceDirectoryGrain.GetDevices()
    {
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
        return Task.FromResult<IReadOnlyList<string>>(devices);
    }
}
