using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Synthesis;

/// <summary>The cluster's synthesizer keys; kept alive because silos register only when they start.</summary>
[KeepAlive]
public sealed class DeviceDirectoryGrain : Grain, IDeviceDirectoryGrain
{
    private readonly SortedSet<string> _devices = new(StringComparer.Ordinal);

    Task IDeviceDirectoryGrain.Register(string deviceKey)
    {
        _devices.Add(deviceKey);
        return Task.CompletedTask;
    }

    Task<IReadOnlyList<string>> IDeviceDirectoryGrain.GetDevices() => Task.FromResult<IReadOnlyList<string>>([.. _devices]);
}
