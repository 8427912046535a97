namespace MitTts.Grains.Interfaces;

/// <summary>The cluster's list of synthesizers (key: 0); each silo registers its devices when it starts.</summary>
public interface IDeviceDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Adds a synthesizer key (<c>{node}/{device}</c>) to the directory.</summary>
    Task Register(string deviceKey);

    /// <summary>Every registered synthesizer key.</summary>
    Task<IReadOnlyList<string>> GetDevices();
}
