using Microsoft.Extensions.Options;
using MitTts.Grains.Channels;
using MitTts.Grains.Interfaces;
using Orleans.Concurrency;

namespace MitTts.Grains.Results;

/// <summary>Reads the result store's statistics and this silo's channel buffers, where the call lands.</summary>
[StatelessWorker]
public sealed class MemoryStatusGrain(IResultStore results, ChannelBuffers buffers, IOptions<ChannelOptions> channels) : Grain, IMemoryStatusGrain
{
    async Task<MemoryStatus> IMemoryStatusGrain.GetStatus()
    {
        return new MemoryStatus(
            await results.GetStatistics(),
            buffers.TotalBytes,
            channels.Value.MaxBufferedBytesPerSilo,
            buffers.Channels,
            buffers.ShedRounds,
            buffers.Sessions,
            channels.Value.MaxSessionsPerSilo);
    }
}
