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

/// <summary>The result store (<see cref="ResultStoreKind"/>: <c>memory+disk</c>, <c>memory</c> or <c>redis</c>; -1 where it does not
/// count) and the answering silo's channel buffers.</summary>
[GenerateSerializer, Immutable]
public sealed record MemoryStatus(
    [property: Id(0)] string ResultStoreKind,
    [property: Id(1)] int Results,
    [property: Id(2)] int AudioResults,
    [property: Id(3)] long ResultMemoryBytes,
    [property: Id(4)] long ResultMemoryBudgetBytes,
    [property: Id(5)] long ResultDiskBytes,
    [property: Id(6)] long ResultDiskBudgetBytes,
    [property: Id(7)] long ResultEvictions,
    [property: Id(8)] long ResultExpirations,
    [property: Id(9)] long ChannelBufferBytes,
    [property: Id(10)] long ChannelBufferBudgetBytes,
    [property: Id(11)] int BufferingChannels,
    [property: Id(12)] long ChannelShedRounds,
    [property: Id(13)] int Sessions,
    [property: Id(14)] int MaxSessions);
