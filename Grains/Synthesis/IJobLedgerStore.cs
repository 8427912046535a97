namespace MitTts.Grains.Synthesis;

/// <summary>Where the job ledgers live when a store made for them is configured (cluster mode: one Redis hash per node), instead of
/// the ledger grain's own state: an add or a remove is one small command, not a rewrite of every unfinished job of the node.</summary>
public interface IJobLedgerStore
{
    Task Add(string node, string ownerId, string kind);

    Task Remove(string node, string ownerId);

    /// <summary>Every entry of <paramref name="node"/>'s ledger, removed in the same step (entries added after it stay).</summary>
    Task<IReadOnlyDictionary<string, string>> TakeAll(string node);
}
