using Microsoft.Extensions.Options;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Synthesis;

/// <summary>Chooses the synthesizer a task runs on: the first device of the silo the task grain lives on.</summary>
public sealed class SynthesisDispatcher(IGrainFactory grains, IOptions<NodeOptions> node)
{
    public Task<QueueTicket> Dispatch(SynthesisJob job)
    {
        var options = node.Value;
        var key = options.DeviceKey(options.EffectiveDevices[0]);
        return grains.GetGrain<ISynthesizerGrain>(key).Enqueue(job);
    }
}
