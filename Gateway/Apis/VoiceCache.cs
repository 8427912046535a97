using Microsoft.Extensions.Hosting;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Apis;

/// <summary>What voice grains answered, kept in this gateway until the voice catalogue says it changed, so a request does not wait on
/// a grain call to learn its voice. Follows the catalogue with one outstanding <see cref="IVoiceCatalogGrain.WaitForChange"/> call; while
/// that is not answered (the cluster is starting, the catalogue's silo went away) nothing is kept and every lookup asks the grain.</summary>
public sealed partial class VoiceCache(IGrainFactory grains, ILogger<VoiceCache> logger) : BackgroundService
{
    // Under Orleans' 30 s response timeout, so a wait never reads as a failure.
    private static readonly TimeSpan s_maxWait = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan s_retry = TimeSpan.FromSeconds(1);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, VoiceInfo> _voices = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    // The catalogue version the kept answers belong to; null while not following the catalogue.
    private long? _version;

    // The whole catalogue, as ListVoices answered it for _version.
    private IReadOnlyList<VoiceInfo>? _all;

    /// <summary>Every voice of the catalogue, ordered by id (kept like single voices).</summary>
    public async ValueTask<IReadOnlyList<VoiceInfo>> All()
    {
        if (_all is { } kept)
        {
            return kept;
        }

        var version = _version;
        var all = await grains.GetGrain<IVoiceCatalogGrain>(0).ListVoices();
        if (version is not null)
        {
            lock (_gate)
            {
                if (_version == version)
                {
                    _all = all;
                }
            }
        }

        return all;
    }

    /// <summary>The voice, or null when the catalogue has no voice with this id.</summary>
    public async ValueTask<VoiceInfo?> Find(string voiceId)
    {
        if (_voices.TryGetValue(voiceId, out var kept))
        {
            return kept;
        }

        var version = _version;
        var voice = await grains.GetGrain<IVoiceGrain>(voiceId).GetInfo();

        // Unknown ids are not kept (a client sending random ids must not grow the cache), nor an answer the catalogue changed under.
        if (voice is not null && version is not null)
        {
            lock (_gate)
            {
                if (_version == version)
                {
                    _voices[voiceId] = voice;
                }
            }
        }

        return voice;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        long known = -1;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var version = await grains.GetGrain<IVoiceCatalogGrain>(0).WaitForChange(known, s_maxWait).WaitAsync(stoppingToken);
                if (version != known)
                {
                    known = version;
                    Forget(version);
                    LogChanged(version);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Changes could be missed until the next answer: keep nothing meanwhile.
                known = -1;
                Forget(null);
                LogWaitFailed(e);
                await Task.Delay(s_retry, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private void Forget(long? version)
    {
        lock (_gate)
        {
            _version = version;
            _voices.Clear();
            _all = null;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Voice catalogue version {Version}: voice answers kept here were dropped")]
    private partial void LogChanged(long version);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Waiting for voice catalogue changes failed; asking again")]
    private partial void LogWaitFailed(Exception exception);
}
