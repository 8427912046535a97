using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Synthesis;

/// <summary>The persisted state of a job ledger: owner id → kind (<c>task</c> or <c>channel</c>).</summary>
[GenerateSerializer]
public sealed class JobLedgerRecord
{
    [Id(0)] public Dictionary<string, string> Tasks { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The owners of unfinished jobs on one node, in storage, so a surviving silo can wake them when the node dies.</summary>
/// <remarks>With an <see cref="IJobLedgerStore"/> registered (cluster mode) the entries live there; otherwise in this grain's state.</remarks>
public sealed class JobLedgerGrain(
    [PersistentState("ledger", StorageNames.Ledgers)] IPersistentState<JobLedgerRecord> ledger,
    IServiceProvider services)
    : Grain, IJobLedgerGrain
{
    private readonly IJobLedgerStore? _store = services.GetService(typeof(IJobLedgerStore)) as IJobLedgerStore;

    private string Node => this.GetPrimaryKeyString();

    async Task IJobLedgerGrain.Add(string ownerId, string kind)
    {
        if (_store is not null)
        {
            await _store.Add(Node, ownerId, kind);
            return;
        }

        ledger.State.Tasks[ownerId] = kind;
        await ledger.WriteStateAsync();
    }

    async Task IJobLedgerGrain.Remove(string ownerId)
    {
        if (_store is not null)
        {
            await _store.Remove(Node, ownerId);
            return;
        }

        if (ledger.State.Tasks.Remove(ownerId))
        {
            await ledger.WriteStateAsync();
        }
    }

    async Task<IReadOnlyDictionary<string, string>> IJobLedgerGrain.TakeAll()
    {
        if (_store is not null)
        {
            return await _store.TakeAll(Node);
        }

        var tasks = ledger.State.Tasks;
        ledger.State.Tasks = new(StringComparer.Ordinal);
        await ledger.WriteStateAsync();
        return tasks;
    }
}

/// <summary>The kinds of job owner a <see cref="IJobLedgerGrain"/> records.</summary>
public static class JobOwners
{
    public const string Task = "task";

    public const string Channel = "channel";
}
