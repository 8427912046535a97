using Microsoft.Extensions.Logging;
using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Channels;

/// <summary>What a channel holds: its window of kept events, the bytes it reports to the silo's <see cref="ChannelBuffers"/>, and the
/// buffers it drops when the silo holds too much.</summary>
public sealed partial class AudioChannelGrain
{
    Task<ChannelWindow> IAudioChannelGrain.GetWindow()
    {
        if (!_admitted)
        {
            // Over the silo's session cap: this activation only says so, and leaves.
            DeactivateOnIdle();
            return Task.FromResult(new ChannelWindow(0, 0, Full: true));
        }

        return Task.FromResult(new ChannelWindow(_log.FirstKept, _log.LastSequence));
    }

    Task<long> IAudioChannelGrain.GetLastReleased() => Task.FromResult(_restoredMarks is null ? _log.Released : AudioChannelReleases.AwaitingReader);

    /// <summary>The events of tasks an interrupt <paramref name="stopped"/> after the last one their socket sent (<paramref name="heardThrough"/>):
    /// dropped there, and never read again, by a resume either.</summary>
    private void SkipUnheard(List<ChannelTaskInfo> stopped, long heardThrough)
    {
        if (heardThrough >= _log.LastSequence || stopped.Count == 0)
        {
            return;
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var task in stopped)
        {
            ids.Add(task.TaskId);
        }

        _log.Skip(ids, heardThrough);
    }

    private void Emit(ChannelEvent channelEvent, AudioPosition position)
    {
        var bytes = _log.Bytes;
        _log.Append(channelEvent, position, time.GetUtcNow(), release: !Durable);
        if (_log.Bytes != bytes)
        {
            buffers.Report(SessionId, _log.Bytes);
        }
    }

    Task IAudioChannelGrain.ShedBuffers()
    {
        var freed = _log.Shed(unread: _listeners == 0);
        if (freed > 0)
        {
            LogShed(SessionId, freed, _listeners);
        }

        buffers.Report(SessionId, _log.Bytes);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId} dropped {Bytes} bytes of buffered audio ({Listeners} listening): the silo's channels hold too much")]
    private partial void LogShed(string sessionId, long bytes, int listeners);
}
