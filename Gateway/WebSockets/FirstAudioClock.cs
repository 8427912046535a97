using MitTts.Gateway.Telemetry;

namespace MitTts.Gateway.WebSockets;

/// <summary>Times a socket's tasks from the synthesize message to their first audio frame sent (<c>mittts_first_audio_seconds</c>).</summary>
/// <remarks>Asked on every audio frame: with no task waiting for its first audio (the usual case mid-stream) that is one read of a
/// count, no lock and no allocation.</remarks>
public sealed class FirstAudioClock(GatewayMetrics? metrics)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, long> _waiting = new(StringComparer.Ordinal);
    private volatile int _count;

    /// <summary>A task asked for at <paramref name="received"/> (a <see cref="System.Diagnostics.Stopwatch"/> timestamp).</summary>
    public void Started(string taskId, long received)
    {
        if (metrics is null)
        {
            return;
        }

        lock (_gate)
        {
            _waiting[taskId] = received;
            _count = _waiting.Count;
        }
    }

    /// <summary>A frame of <paramref name="taskId"/> went out, its audio having come from the channel at <paramref name="fromChannel"/>; the
    /// first one is timed.</summary>
    public void AudioSent(string taskId, long fromChannel)
    {
        if (_count == 0)
        {
            return;
        }

        long received;
        lock (_gate)
        {
            if (!_waiting.Remove(taskId, out received))
            {
                return;
            }

            _count = _waiting.Count;
        }

        metrics!.FirstAudioStreamed(received);
        metrics.StreamDelivered(fromChannel);
    }

    /// <summary>A task that ended without audio (refused, interrupted, failed) is no longer timed.</summary>
    public void Forget(string taskId)
    {
        if (_count == 0)
        {
            return;
        }

        lock (_gate)
        {
            _waiting.Remove(taskId);
            _count = _waiting.Count;
        }
    }
}
