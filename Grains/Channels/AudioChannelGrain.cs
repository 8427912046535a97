using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Voices;
using Orleans.Concurrency;
using Orleans.Placement;

namespace MitTts.Grains.Channels;

/// <summary>A session's ordered audio channel: streamed tasks' audio, one task at a time (CRITICAL, HIGH, NORMAL; FIFO within a
/// level), numbered and kept for the resume window.</summary>
/// <remarks>Reentrant: a reader waits inside <see cref="IAudioChannelGrain.Listen"/> while the synthesizer pushes audio. All state
/// changes happen between awaits, so no call sees another half done. It holds no storage: the audio it keeps is only worth a resume
/// window, and a channel that dies with its silo is rebuilt from the tasks' re-runs.</remarks>
[Reentrant]
[PreferLocalPlacement]
public sealed partial class AudioChannelGrain(
    IOptions<ChannelOptions> options,
    VoiceCatalog voices,
    TimeProvider time,
    ILogger<AudioChannelGrain> logger)
    : Grain, IAudioChannelGrain
{
    private readonly List<ChannelItem> _items = [];
    private readonly Dictionary<string, ChannelItem> _itemsById = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TextContext> _contexts = new(StringComparer.Ordinal);
    private readonly List<LoggedEvent> _log = [];
    private int _logStart;
    private ChannelItem? _current;
    private long _lastSequence;
    private long _order;
    private long _logBytes;
    private int _listenerGeneration;
    private int _listeners;
    private IGrainTimer? _abandonTimer;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private string SessionId => this.GetPrimaryKeyString();

    private TimeSpan ResumeWindow => TimeSpan.FromSeconds(options.Value.ResumeWindowSeconds);

    async Task<TaskSnapshot> IAudioChannelGrain.Submit(ChannelTaskInfo info, SynthesisRequest request)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(request);
        return await SubmitItem(info, request);
    }

    async Task<TextAppendResult> IAudioChannelGrain.AppendText(string contextId, string text, TextContextOptions contextOptions)
    {
        ArgumentNullException.ThrowIfNull(contextOptions);
        if (!_contexts.TryGetValue(contextId, out var context))
        {
            var language = voices.Find(contextOptions.Template.VoiceId)?.Language;
            context = new TextContext(contextId, contextOptions, language);
            _contexts[contextId] = context;
        }
        else if (context.Ended)
        {
            return new TextAppendResult([], new TaskError("context_closed", $"Text context '{contextId}' has ended; use a new context_id."));
        }

        context.Append(text);
        return await SubmitPieces(context, context.TakeCompleteSentences());
    }

    async Task<TextAppendResult> IAudioChannelGrain.FlushText(string contextId, bool close)
    {
        if (!_contexts.TryGetValue(contextId, out var context) || context.Ended)
        {
            return new TextAppendResult([], new TaskError("context_not_found", $"No open text context '{contextId}'."));
        }

        var rest = context.TakeRest();
        var result = await SubmitPieces(context, rest is null ? [] : [rest]);
        if (close)
        {
            context.Ended = true;
            Pump();
        }

        return result;
    }

    async IAsyncEnumerable<ChannelEvent> IAudioChannelGrain.Listen(long afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The newest reader owns the channel: a client that reconnected elsewhere ends the old connection's reading.
        var generation = ++_listenerGeneration;
        _listeners++;
        _abandonTimer?.Dispose();
        _abandonTimer = null;
        _changed.TrySetResult();
        _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            var next = afterSequence + 1;
            while (generation == _listenerGeneration)
            {
                while (TryGetEvent(next, out var channelEvent))
                {
                    next = channelEvent.Sequence + 1;
                    yield return channelEvent;
                    if (generation != _listenerGeneration)
                    {
                        yield break;
                    }
                }

                await _changed.Task.WaitAsync(cancellationToken);
            }
        }
        finally
        {
            _listeners--;
            if (_listeners == 0)
            {
                _abandonTimer = this.RegisterGrainTimer(AbandonIfUnheard, new GrainTimerCreationOptions(ResumeWindow, Timeout.InfiniteTimeSpan) { Interleave = true });
            }
        }
    }

    async Task<IReadOnlyList<string>> IAudioChannelGrain.Interrupt(IReadOnlyList<string>? taskIds, string? contextId)
    {
        var stopped = new List<string>();
        foreach (var item in _items.ToArray())
        {
            var wanted = taskIds is not null ? taskIds.Contains(item.Info.TaskId)
                : contextId is null || string.Equals(item.Info.ContextId, contextId, StringComparison.Ordinal);
            if (wanted && item.EndStatus is null)
            {
                Stop(item);
                stopped.Add(item.Info.TaskId);
            }
        }

        foreach (var context in _contexts.Values)
        {
            if (taskIds is null && (contextId is null || context.Id == contextId))
            {
                context.TakeRest();
            }
        }

        Pump();
        if (stopped.Count > 0)
        {
            await CancelTasks(stopped);
        }

        return stopped;
    }

    Task<bool> IAudioChannelGrain.PushAudio(AudioBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!_itemsById.TryGetValue(batch.TaskId, out var item) || item.EndStatus is not null)
        {
            return Task.FromResult(false);
        }

        // A re-run after failover starts again at sentence 0: what the channel already has whole is not repeated.
        if (batch.Sentence < item.CompleteSentences)
        {
            return Task.FromResult(true);
        }

        if (batch.Audio.Length > 0)
        {
            item.Pending.Add(new PendingPiece(batch.Audio, null));
        }

        if (batch.Words is { Count: > 0 } words)
        {
            item.Pending.Add(new PendingPiece(null, words));
        }

        item.Progress = batch.Progress;
        if (batch.SentenceComplete)
        {
            item.CompleteSentences = batch.Sentence + 1;
        }

        if (batch.Final)
        {
            item.DurationMs = batch.DurationMs;
            item.EndStatus = SynthesisStatus.Completed;
        }

        Pump();
        return Task.FromResult(true);
    }

    Task IAudioChannelGrain.TaskEnded(string taskId, SynthesisStatus status, TaskError? failure)
    {
        if (_itemsById.TryGetValue(taskId, out var item) && item.EndStatus is null)
        {
            item.EndStatus = status;
            item.Error = failure;
            Pump();
        }

        return Task.CompletedTask;
    }

    Task<long> IAudioChannelGrain.GetLastSequence() => Task.FromResult(_lastSequence);

    private async Task<TaskSnapshot> SubmitItem(ChannelTaskInfo info, SynthesisRequest request)
    {
        var item = new ChannelItem(info, request.Priority, ++_order);
        _items.Add(item);
        _itemsById[info.TaskId] = item;
        if (info.ContextId is { } contextId && _contexts.TryGetValue(contextId, out var context))
        {
            context.OpenTasks++;
        }

        // An idle channel gives the socket to the new task at once; otherwise it waits its turn.
        Pump();

        TaskSnapshot snapshot;
        try
        {
            snapshot = await GrainFactory.GetGrain<ITaskGrain>(info.TaskId).Submit(request with { SessionId = SessionId, Streamed = true });
        }
        catch
        {
            Forget(item);
            throw;
        }

        if (snapshot.Status == SynthesisStatus.Error && snapshot.Error?.Code == "busy")
        {
            // Refused work never became a task, so it never joins the channel.
            Forget(item);
        }

        return snapshot;
    }

    private async Task<TextAppendResult> SubmitPieces(TextContext context, IReadOnlyList<string> pieces)
    {
        var tasks = new List<TaskSnapshot>(pieces.Count);
        foreach (var piece in pieces)
        {
            var info = new ChannelTaskInfo(NewTaskId(), context.Options.RequestId, context.Id);
            var snapshot = await SubmitItem(info, context.Options.Template with { Text = piece });
            tasks.Add(snapshot);
            if (snapshot.Error is { } error)
            {
                return new TextAppendResult(tasks, error);
            }
        }

        return new TextAppendResult(tasks);
    }

    private static string NewTaskId() => "task_" + Guid.NewGuid().ToString("N");

    /// <summary>Moves audio of the head task into the log, and picks the next head when it ends.</summary>
    private void Pump()
    {
        var emitted = false;
        while (true)
        {
            if (_current is null)
            {
                _current = NextItem();
                if (_current is null)
                {
                    break;
                }

                Emit(new ChannelEvent(0, ChannelEventKind.TaskStarted, _current.Info.TaskId, _current.Info.RequestId, _current.Info.ContextId));
                emitted = true;
            }

            var current = _current;
            foreach (var piece in current.Pending)
            {
                Emit(piece.Audio is not null
                    ? new ChannelEvent(0, ChannelEventKind.Audio, current.Info.TaskId, current.Info.RequestId, current.Info.ContextId, Audio: piece.Audio, Progress: current.Progress)
                    : new ChannelEvent(0, ChannelEventKind.Words, current.Info.TaskId, current.Info.RequestId, current.Info.ContextId, Words: piece.Words));
                emitted = true;
            }

            current.Pending.Clear();
            if (current.EndStatus is not { } status)
            {
                break;
            }

            End(current, status);
            emitted = true;
        }

        emitted |= EndFinishedContexts();
        if (emitted)
        {
            _changed.TrySetResult();
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    private void End(ChannelItem item, SynthesisStatus status)
    {
        Emit(new ChannelEvent(0, ChannelEventKind.TaskEnded, item.Info.TaskId, item.Info.RequestId, item.Info.ContextId,
            Status: status, Error: item.Error, Progress: status == SynthesisStatus.Completed ? 1.0 : item.Progress, DurationMs: item.DurationMs));
        Forget(item);
        if (item.Info.ContextId is { } contextId && _contexts.TryGetValue(contextId, out var context))
        {
            context.OpenTasks--;
        }

        if (ReferenceEquals(_current, item))
        {
            _current = null;
        }
    }

    private bool EndFinishedContexts()
    {
        List<TextContext>? finished = null;
        foreach (var context in _contexts.Values)
        {
            if (context.Ended && context.OpenTasks == 0)
            {
                (finished ??= []).Add(context);
            }
        }

        if (finished is null)
        {
            return false;
        }

        foreach (var context in finished)
        {
            _contexts.Remove(context.Id);
            Emit(new ChannelEvent(0, ChannelEventKind.ContextEnded, null, context.Options.RequestId, context.Id));
        }

        return true;
    }

    /// <summary>The next task to sound: highest priority first, then the order the session asked for them.</summary>
    private ChannelItem? NextItem()
    {
        ChannelItem? best = null;
        foreach (var item in _items)
        {
            if (best is null || item.Priority > best.Priority || (item.Priority == best.Priority && item.Order < best.Order))
            {
                best = item;
            }
        }

        return best;
    }

    private void Stop(ChannelItem item)
    {
        item.Pending.Clear();
        item.EndStatus = SynthesisStatus.Cancelled;
        item.Error = null;
        if (!ReferenceEquals(item, _current))
        {
            // Never sounded: it leaves the channel without a trace, except its end for the context's bookkeeping.
            Forget(item);
            if (item.Info.ContextId is { } contextId && _contexts.TryGetValue(contextId, out var context))
            {
                context.OpenTasks--;
            }
        }
    }

    private void Forget(ChannelItem item)
    {
        _items.Remove(item);
        _itemsById.Remove(item.Info.TaskId);
    }

    private void Emit(ChannelEvent channelEvent)
    {
        var numbered = channelEvent with { Sequence = ++_lastSequence };
        var now = time.GetUtcNow();
        _log.Add(new LoggedEvent(numbered, now));
        _logBytes += numbered.Audio?.Length ?? 0;
        while (_log.Count - _logStart > 1 && (_logBytes > options.Value.ResumeBufferBytes || now - _log[_logStart].At > ResumeWindow))
        {
            _logBytes -= _log[_logStart].Event.Audio?.Length ?? 0;
            _log[_logStart++] = default;
        }

        // Trimmed entries leave the list in bulk, so trimming stays O(1) per event.
        if (_logStart > 1024 && _logStart > _log.Count / 2)
        {
            _log.RemoveRange(0, _logStart);
            _logStart = 0;
        }
    }

    /// <summary>The event numbered <paramref name="sequence"/>, or the oldest one kept when that one is gone.</summary>
    private bool TryGetEvent(long sequence, out ChannelEvent channelEvent)
    {
        channelEvent = null!;
        if (_logStart >= _log.Count || sequence > _lastSequence)
        {
            return false;
        }

        var first = _log[_logStart].Event.Sequence;
        channelEvent = _log[_logStart + (int)Math.Max(0, sequence - first)].Event;
        return true;
    }

    private async Task AbandonIfUnheard(CancellationToken cancellationToken)
    {
        _abandonTimer?.Dispose();
        _abandonTimer = null;
        if (_listeners > 0)
        {
            return;
        }

        var unfinished = new List<string>();
        foreach (var item in _items.ToArray())
        {
            if (item.EndStatus is null)
            {
                Stop(item);
                unfinished.Add(item.Info.TaskId);
            }
        }

        _contexts.Clear();
        Pump();
        if (unfinished.Count > 0)
        {
            LogAbandoned(SessionId, unfinished.Count);
            await CancelTasks(unfinished);
        }

        _log.Clear();
        _logStart = 0;
        _logBytes = 0;
        DeactivateOnIdle();
    }

    private async Task CancelTasks(List<string> taskIds)
    {
        var cancels = new Task[taskIds.Count];
        for (var i = 0; i < taskIds.Count; i++)
        {
            cancels[i] = GrainFactory.GetGrain<ITaskGrain>(taskIds[i]).Cancel();
        }

        try
        {
            await Task.WhenAll(cancels);
        }
        catch (Exception e)
        {
            LogCancelFailed(SessionId, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId} had no listener for its resume window: {Count} unfinished tasks cancelled")]
    private partial void LogAbandoned(string sessionId, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: cancelling interrupted tasks failed")]
    private partial void LogCancelFailed(string sessionId, Exception exception);

    private sealed class ChannelItem(ChannelTaskInfo info, Priority priority, long order)
    {
        public ChannelTaskInfo Info { get; } = info;

        public Priority Priority { get; } = priority;

        public long Order { get; } = order;

        public List<PendingPiece> Pending { get; } = [];

        public int CompleteSentences { get; set; }

        public double Progress { get; set; }

        public int DurationMs { get; set; }

        public SynthesisStatus? EndStatus { get; set; }

        public TaskError? Error { get; set; }
    }

    private readonly record struct PendingPiece(byte[]? Audio, IReadOnlyList<WordTiming>? Words);

    private readonly record struct LoggedEvent(ChannelEvent Event, DateTimeOffset At);
}
