using MitTts.Grains.Interfaces;
using Orleans.Runtime;

namespace MitTts.Gateway.Channels;

/// <summary>The silo this process's channel readers die with: the co-hosted silo, or none in a client gateway, which outlives every
/// silo. A durable channel lets a reader that outlives it have events before it has saved them (<see cref="ChannelReader"/>).</summary>
public sealed record ChannelReaderHome(string? Silo)
{
    /// <summary>A reader in a process with no silo (a client gateway, a test's cluster client).</summary>
    public static ChannelReaderHome Client { get; } = new((string?)null);

    /// <summary>The home of readers in the process whose services these are.</summary>
    public static ChannelReaderHome Of(IServiceProvider services) =>
        new(services.GetService<ILocalSiloDetails>()?.SiloAddress.ToParsableString());
}
