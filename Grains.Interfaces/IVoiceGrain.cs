namespace MitTts.Grains.Interfaces;

/// <summary>One voice of the catalogue (key: voice id, e.g. <c>es-female-1</c>): its metadata and availability.</summary>
public interface IVoiceGrain : IGrainWithStringKey
{
    /// <summary>The voice, or null when the catalogue has no voice with this id.</summary>
    Task<VoiceInfo?> GetInfo();
}

/// <summary>The whole voice catalogue (key: 0).</summary>
public interface IVoiceCatalogGrain : IGrainWithIntegerKey
{
    /// <summary>Every voice of the catalogue, ordered by id.</summary>
    Task<IReadOnlyList<VoiceInfo>> ListVoices();

    /// <summary>The model files of the models folder that give no usable voice (unreadable configs, models ONNX Runtime cannot load).</summary>
    Task<IReadOnlyList<ModelProblem>> GetModelProblems();
}
