namespace MitTts.Grains.Interfaces;

/// <summary>The synthesizers of the live cluster, read from each silo's metadata (key: 0).</summary>
public interface IDeviceDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Every synthesizer key (<c>{node}/{device}</c>) of the silos that are active now.</summary>
    Task<IReadOnlyList<string>> GetDevices();
}

/// <summary>The tasks dispatched to the devices of one node (key: node name), kept in storage so they outlive that node.</summary>
public interface IDeviceLedgerGrain : IGrainWithStringKey
{
    /// <summary>Records that a task waits for, or runs on, a device of this node.</summary>
    Task Add(string taskId, string deviceKey);

    /// <summary>Forgets a task (it finished, or moved to another device).</summary>
    Task Remove(string taskId);

    /// <summary>Every recorded task (task id → device key), for a synthesizer that lost its queue to take its own back.</summary>
    Task<IReadOnlyDictionary<string, string>> GetAll();

    /// <summary>Returns and forgets every recorded task, to re-dispatch them after the node died.</summary>
    Task<IReadOnlyDictionary<string, string>> TakeAll();
}
