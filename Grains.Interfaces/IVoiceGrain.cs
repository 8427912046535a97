using Orleans.Concurrency;

namespace MitTts.Grains.Interfaces;

/// <summary>One voice of the catalogue (key: voice id, e.g. <c>es-female-1</c>): its metadata and availability.</summary>
public interface IVoiceGrain : IGrainWithStringKey
{
    /// <summary>The voice, or null when the catalogue has no voice with this id. Answers from memory: a call that takes seconds met a
    /// silo joining or leaving, and the catalogue lists the voice as its own silo sees it instead (the call's timeout is short).</summary>
    [ResponseTimeout("00:00:05")]
    Task<VoiceInfo?> GetInfo();
}

/// <summary>The whole voice catalogue (key: 0).</summary>
public interface IVoiceCatalogGrain : IGrainWithIntegerKey
{
    /// <summary>Every voice of the catalogue, ordered by id.</summary>
    /// <remarks>Interleaves (it reads nothing the grain changes): a list waiting on a slow voice grain holds no other caller.</remarks>
    [AlwaysInterleave]
    Task<IReadOnlyList<VoiceInfo>> ListVoices();

    /// <summary>The model files of the models folder that give no usable voice (unreadable configs, models ONNX Runtime cannot load).</summary>
    Task<IReadOnlyList<ModelProblem>> GetModelProblems();

    /// <summary>Answers with the catalogue's version as soon as it differs from <paramref name="knownVersion"/>, or with the same one
    /// after <paramref name="maxWait"/> (kept under Orleans' response timeout): gateways keep what voice grains told them until it
    /// changes. A new activation of this grain starts from a version no earlier one had.</summary>
    [AlwaysInterleave]
    Task<long> WaitForChange(long knownVersion, TimeSpan maxWait);

    /// <summary>What a voice grain answers may have changed: a voice grain activated (on a silo whose catalogue or engines may differ
    /// from the last one's), or a model failed on a silo.</summary>
    [OneWay]
    Task Changed();
}
