using Orleans.Concurrency;

namespace MitTts.Grains.Interfaces;

/// <summary>What a silo holds for readers: the result store (finished records and kept audio) and its channels' buffered audio
/// (key: 0; answered by the silo that receives the call).</summary>
public interface IMemoryStatusGrain : IGrainWithIntegerKey
{
    /// <summary>The result store's and this silo's channel buffers' figures now.</summary>
    [AlwaysInterleave]
    Task<MemoryStatus> GetStatus();
}

/// <summary>The result store's figures, and the answering silo's channel buffers and sessions against their caps.</summary>
[GenerateSerializer, Immutable]
public sealed record MemoryStatus(
    [property: Id(0)] ResultStoreStatistics Results,
    [property: Id(1)] long ChannelBufferBytes,
    [property: Id(2)] long ChannelBufferBudgetBytes,
    [property: Id(3)] int BufferingChannels,
    [property: Id(4)] long ChannelShedRounds,
    [property: Id(5)] int Sessions,
    [property: Id(6)] int MaxSessions);

/// <summary>What a result store holds (<see cref="Kind"/>: <c>memory+disk</c>, <c>memory</c> or <c>redis</c>; -1 where it does not
/// count): bytes in memory and on disk (or in Redis), against their budgets, and how many results left
/// early (<see cref="Evictions"/>: to stay within a budget) or on time (<see cref="Expirations"/>).</summary>
[GenerateSerializer, Immutable]
public sealed record ResultStoreStatistics(
    [property: Id(0)] string Kind,
    [property: Id(1)] int Records,
    [property: Id(2)] int AudioEntries,
    [property: Id(3)] long MemoryBytes,
    [property: Id(4)] long MemoryBudgetBytes,
    [property: Id(5)] long DiskBytes,
    [property: Id(6)] long DiskBudgetBytes,
    [property: Id(7)] long Evictions,
    [property: Id(8)] long Expirations);
