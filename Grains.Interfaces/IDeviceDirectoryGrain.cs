namespace MitTts.Grains.Interfaces;

/// <summary>The synthesizers of the live cluster, read from each silo's metadata (key: 0).</summary>
public interface IDeviceDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Every synthesizer key (<c>{node}/{device}</c>) of the silos that are active now.</summary>
    Task<IReadOnlyList<string>> GetDevices();
}

/// <summary>The unfinished jobs owned by grains of one node (key: node name), kept in storage so they outlive that node.</summary>
/// <remarks>An entry maps a task id to <c>task</c> (a REST task's grain owns the job) or a session id to <c>channel</c> (its channel
/// owns streamed tasks). When the node dies, a survivor wakes each owner, which picks its jobs up again elsewhere.</remarks>
public interface IJobLedgerGrain : IGrainWithStringKey
{
    /// <summary>Records an owner with unfinished work on this node.</summary>
    Task Add(string ownerId, string kind);

    /// <summary>Forgets an owner (its work finished, or it moved).</summary>
    Task Remove(string ownerId);

    /// <summary>Returns and forgets every recorded owner, to wake them after the node died.</summary>
    Task<IReadOnlyDictionary<string, string>> TakeAll();
}
