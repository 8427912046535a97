using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Synthesis;

/// <summary>The persisted state of a device ledger: task id → device key.</summary>
[GenerateSerializer]
public sealed class DeviceLedgerRecord
{
    [Id(0)] public Dictionary<string, string> Tasks { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The unfinished tasks of one node's devices, in storage, so a surviving silo can re-dispatch them when the node dies.</summary>
public sealed class DeviceLedgerGrain(
    [PersistentState("ledger", StorageNames.Ledgers)] IPersistentState<DeviceLedgerRecord> ledger)
    : Grain, IDeviceLedgerGrain
{
    async Task IDeviceLedgerGrain.Add(string taskId, string deviceKey)
    {
        ledger.State.Tasks[taskId] = deviceKey;
        await ledger.WriteStateAsync();
    }

    async Task IDeviceLedgerGrain.Remove(string taskId)
    {
        if (ledger.State.Tasks.Remove(taskId))
        {
            await ledger.WriteStateAsync();
        }
    }

    Task<IReadOnlyDictionary<string, string>> IDeviceLedgerGrain.GetAll() =>
        Task.FromResult<IReadOnlyDictionary<string, string>>(new Dictionary<string, string>(ledger.State.Tasks, StringComparer.Ordinal));

    async Task<IReadOnlyDictionary<string, string>> IDeviceLedgerGrain.TakeAll()
    {
        var tasks = ledger.State.Tasks;
        ledger.State.Tasks = new(StringComparer.Ordinal);
        await ledger.WriteStateAsync();
        return tasks;
    }
}
