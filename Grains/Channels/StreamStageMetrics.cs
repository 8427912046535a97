using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MitTts.Grains.Channels;

/// <summary>Where a streamed task's first audio spends its time inside the silo (meter <c>MitTts.Streaming</c>, histogram
/// <c>mittts.stream.first_audio_stage</c> in seconds, by <c>stage</c>), each stage once per task:</summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>dispatch</c>: the channel takes the task → a synthesizer has queued its job (device directory, device figures, the job's
/// first answer).</item>
/// <item><c>synthesis</c>: job queued → its first audio piece at the channel (the synthesizer's queue, engine, encoder, the pull back).</item>
/// <item><c>channel</c>: that piece at the channel → a reader takes it (its turn on the socket; in cluster mode the save that lets
/// readers have it).</item>
/// </list>
/// With the gateway's own stages (<c>mittts.stream.gateway_stage</c>) and its total (<c>mittts.first_audio</c>), what is left is the
/// hops between processes. Tags are built once: recording allocates nothing.</remarks>
public sealed class StreamStageMetrics
{
    public const string MeterName = "MitTts.Streaming";

    private static readonly KeyValuePair<string, object?> s_dispatch = new("stage", "dispatch");
    private static readonly KeyValuePair<string, object?> s_synthesis = new("stage", "synthesis");
    private static readonly KeyValuePair<string, object?> s_channel = new("stage", "channel");

    private readonly Histogram<double> _stage;

    public StreamStageMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _stage = meters.Create(MeterName).CreateHistogram<double>(
            "mittts.stream.first_audio_stage", unit: "s", description: "Where a streamed task's first audio spends its time in the silo, by stage (dispatch, synthesis, channel).");
    }

    /// <summary>The job was queued; <paramref name="since"/> is when the channel took the task (a <see cref="Stopwatch"/> timestamp).</summary>
    public void Dispatched(long since) => _stage.Record(Stopwatch.GetElapsedTime(since).TotalSeconds, s_dispatch);

    /// <summary>The first piece reached the channel; <paramref name="since"/> is when the job was queued.</summary>
    public void FirstPiece(long since) => _stage.Record(Stopwatch.GetElapsedTime(since).TotalSeconds, s_synthesis);

    /// <summary>A reader took the first piece; <paramref name="since"/> is when it reached the channel.</summary>
    public void FirstPieceRead(long since) => _stage.Record(Stopwatch.GetElapsedTime(since).TotalSeconds, s_channel);
}
