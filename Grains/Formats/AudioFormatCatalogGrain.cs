using MitTts.Grains.Interfaces;
using Orleans.Concurrency;

namespace MitTts.Grains.Formats;

/// <summary>Answers with this silo's encoders' capabilities; nothing to keep, so any silo answers locally.</summary>
[StatelessWorker]
public sealed class AudioFormatCatalogGrain : Grain, IAudioFormatCatalogGrain
{
    Task<IReadOnlyList<AudioFormatInfo>> IAudioFormatCatalogGrain.GetFormats() => Task.FromResult(AudioFormatCatalog.Formats);
}
