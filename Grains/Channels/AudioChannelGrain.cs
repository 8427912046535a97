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
/// changes happen between awaits, so no call sees another half done. What it must not forget if its silo dies (its tasks, how many
/// sentences of each it has, text contexts, the sequence reached) is saved behind the audio path, one write at a time, at task,
/// sentence and context changes; the audio itself is only worth a resume window and is not saved. A channel restored after a crash
/// numbers on from far past the saved sequence, so no number is used twice.</remarks>
[Reentrant]
[PreferLocalPlacement]
public sealed partial class AudioChannelGrain(
    [PersistentState("channel", StorageNames.Sessions)] IPersistentState<ChannelRecord> saved,
    IOptions<ChannelOptions> options,
    VoiceCatalog voices,
    TimeProvider time,
    ILogger<AudioChannelGrain> logger)
    : Grain, IAudioChannelGrain
{
    private readonly List<ChannelItem> _items = [];
    private readonly Dictionary<string, ChannelItem> _itemsById = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TextContext> _contexts = new(StringComparer.Ordinal);

    // Tasks whose end is in the log but not yet read: saved like open ones, since a crash would lose what is left of them.
    private readonly Dictionary<string, ChannelItem> _endedUnread = new(StringComparer.Ordinal);
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
    private Task _saving = Task.CompletedTask;
    private bool _unsaved;

    // Events a crashed channel may have numbered after its last save: far more than one sentence can make.
    private const long RestoredSequenceGap = 1_000_000;

    // How often progress inside a sentence is saved: what a channel restored after a crash may send twice.
    private static readonly TimeSpan s_readSaveInterval = TimeSpan.FromMilliseconds(250);
    private DateTimeOffset _savedAt;
    private long _readThrough;

    private string SessionId => this.GetPrimaryKeyString();

    private TimeSpan ResumeWindow => TimeSpan.FromSeconds(options.Value.ResumeWindowSeconds);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (saved.RecordExists)
        {
            Restore(saved.State);

            // Asked after activation, not during it: a task ending right now waits on this channel, and this channel would wait on it.
            this.RegisterGrainTimer(Reconcile, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan) { Interleave = true });
        }

        return Task.CompletedTask;
    }

    /// <summary>Asks each restored task where it stands: ended ones end here too; completed ones are spoken again, since what no reader
    /// had read died with the old activation (the channel keeps only what it lacks).</summary>
    private async Task Reconcile(CancellationToken cancellationToken)
    {
        foreach (var item in _items.ToArray())
        {
            if (item.EndStatus is not null)
            {
                continue;
            }

            var task = GrainFactory.GetGrain<ITaskGrain>(item.Info.TaskId);
            var snapshot = await task.GetSnapshot();
            if (item.EndStatus is not null || snapshot is { IsFinished: false } || (snapshot is { Status: SynthesisStatus.Completed } && await task.Replay()))
            {
                continue;
            }

            item.EndStatus = snapshot?.Status ?? SynthesisStatus.Error;
            item.Error = snapshot is null ? new TaskError("task_lost", "The task expired or was lost while its channel moved.") : snapshot.Error;
        }

        Pump();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await _saving;
        if (_items.Count > 0 || _contexts.Count > 0 || _endedUnread.Count > 0)
        {
            saved.State = Snapshot(cleanShutdown: true);
            await saved.WriteStateAsync(cancellationToken);
        }
        else if (saved.RecordExists)
        {
            await saved.ClearStateAsync(cancellationToken);
        }
    }

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

        var pieces = context.Append(text);
        MarkUnsaved();
        return await SubmitPieces(context, pieces);
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
            MarkUnsaved();
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
                while (TryGetEvent(next, out var logged))
                {
                    next = logged.Event.Sequence + 1;
                    yield return logged.Event;

                    // Asked for the next one: the reader has this one.
                    Acknowledge(logged);
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
                context.Discard();
            }
        }

        Pump();
        if (stopped.Count > 0)
        {
            await CancelTasks(stopped);
        }

        return stopped;
    }

    Task<int> IAudioChannelGrain.PushAudio(AudioBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!_itemsById.TryGetValue(batch.TaskId, out var item) || item.EndStatus is not null)
        {
            return Task.FromResult(-1);
        }

        // Only the sentence the channel is waiting for: earlier ones are a re-run's repeats, later ones a gap to fill first.
        if (batch.Sentence != item.CompleteSentences)
        {
            return Task.FromResult(item.CompleteSentences);
        }

        // Of the sentence in progress, a re-run sends the start again: only the bytes past what arrived before are new.
        var audio = batch.Audio;
        var known = item.SentenceBytes - batch.Offset;
        if (known > 0)
        {
            audio = known >= audio.Length ? [] : audio[(int)known..];
        }

        if (audio.Length > 0)
        {
            item.SentenceBytes += audio.Length;
            item.Pending.Add(new PendingPiece(audio, null, batch.Sentence, item.SentenceBytes));
        }

        if (batch.Words is { Count: > 0 } words)
        {
            item.Pending.Add(new PendingPiece(null, words, batch.Sentence, 0));
        }

        item.Progress = batch.Progress;
        if (batch.SentenceComplete)
        {
            item.CompleteSentences = batch.Sentence + 1;
            item.SentenceBytes = 0;
        }

        if (batch.Final)
        {
            item.DurationMs = batch.DurationMs;
            item.EndStatus = SynthesisStatus.Completed;
        }

        Pump();
        return Task.FromResult(item.CompleteSentences);
    }

    Task IAudioChannelGrain.TaskEnded(string taskId, SynthesisStatus status, TaskError? failure)
    {
        if (!_itemsById.TryGetValue(taskId, out var item) || item.EndStatus is not null)
        {
            return Task.CompletedTask;
        }

        if (status == SynthesisStatus.Completed)
        {
            // Completed without its last audio reaching this activation (it died with an earlier one): have it spoken again.
            // Not awaited: the task is waiting for this call to return.
            _ = ReplayOrEnd(item);
            return Task.CompletedTask;
        }

        item.EndStatus = status;
        item.Error = failure;
        Pump();
        return Task.CompletedTask;
    }

    private async Task ReplayOrEnd(ChannelItem item)
    {
        try
        {
            if (await GrainFactory.GetGrain<ITaskGrain>(item.Info.TaskId).Replay())
            {
                return;
            }
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            LogReplayFailed(SessionId, item.Info.TaskId, e);
        }

        if (item.EndStatus is null)
        {
            item.EndStatus = SynthesisStatus.Completed;
            Pump();
        }
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
        MarkUnsaved();
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

                _unsaved = true;

                Emit(new ChannelEvent(0, ChannelEventKind.TaskStarted, _current.Info.TaskId, _current.Info.RequestId, _current.Info.ContextId));
                emitted = true;
            }

            var current = _current;
            foreach (var piece in current.Pending)
            {
                var channelEvent = piece.Audio is not null
                    ? new ChannelEvent(0, ChannelEventKind.Audio, current.Info.TaskId, current.Info.RequestId, current.Info.ContextId, Audio: piece.Audio, Progress: current.Progress)
                    : new ChannelEvent(0, ChannelEventKind.Words, current.Info.TaskId, current.Info.RequestId, current.Info.ContextId, Words: piece.Words);
                Emit(channelEvent, piece.Sentence, piece.BytesEnd);
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

        if (_unsaved)
        {
            MarkUnsaved();
        }
    }

    private void End(ChannelItem item, SynthesisStatus status)
    {
        Emit(new ChannelEvent(0, ChannelEventKind.TaskEnded, item.Info.TaskId, item.Info.RequestId, item.Info.ContextId,
            Status: status, Error: item.Error, Progress: status == SynthesisStatus.Completed ? 1.0 : item.Progress, DurationMs: item.DurationMs));
        Forget(item);
        _endedUnread[item.Info.TaskId] = item;
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
        _unsaved = true;
    }

    /// <summary>Saves the channel's state soon, behind the audio path: one write in flight, later changes folded into the next.</summary>
    private void MarkUnsaved()
    {
        _unsaved = true;
        if (_saving.IsCompleted)
        {
            _saving = SaveLoop();
        }
    }

    private async Task SaveLoop()
    {
        // Yield first, so changes made in the same turn go out in one write.
        await Task.Yield();
        while (_unsaved)
        {
            _unsaved = false;
            _savedAt = time.GetUtcNow();
            saved.State = Snapshot(cleanShutdown: false);
            try
            {
                await saved.WriteStateAsync();
            }
            catch (Exception e)
            {
                // Storage is down (Redis): the channel carries on from memory and saves again at the next change.
                LogSaveFailed(SessionId, e);
                return;
            }
        }
    }

    private ChannelRecord Snapshot(bool cleanShutdown)
    {
        var record = new ChannelRecord { LastSequence = _lastSequence, Order = _order, CleanShutdown = cleanShutdown };
        foreach (var item in _endedUnread.Values)
        {
            record.Items.Add(new ChannelItemRecord(item.Info, item.Priority, item.Order, item.ReadSentences, item.ReadBytes, Current: false));
        }

        foreach (var item in _items)
        {
            // What a reader has, not what arrived: audio still in the log dies with this activation and must come again.
            record.Items.Add(new ChannelItemRecord(item.Info, item.Priority, item.Order, item.ReadSentences, item.ReadBytes, ReferenceEquals(item, _current)));
        }

        foreach (var context in _contexts.Values)
        {
            record.Contexts.Add(new TextContextRecord(context.Id, context.Options, context.Language, context.Buffered, context.OpenTasks, context.Ended));
        }

        return record;
    }

    private void Restore(ChannelRecord record)
    {
        _lastSequence = record.LastSequence + (record.CleanShutdown ? 0 : RestoredSequenceGap);
        _order = record.Order;
        foreach (var entry in record.Items)
        {
            var item = new ChannelItem(entry.Info, entry.Priority, entry.Order)
            {
                CompleteSentences = entry.ReadSentences,
                SentenceBytes = entry.ReadBytes,
                ReadSentences = entry.ReadSentences,
                ReadBytes = entry.ReadBytes,
            };
            _items.Add(item);
            _itemsById[entry.Info.TaskId] = item;
            if (entry.Current)
            {
                // Its start went out before the crash; the rest of its audio follows without a second one.
                _current = item;
            }
        }

        foreach (var entry in record.Contexts)
        {
            _contexts[entry.Id] = TextContext.Restore(entry);
        }

        LogRestored(SessionId, _items.Count, _lastSequence);
    }

    private void Emit(ChannelEvent channelEvent, int sentence = -1, long bytesEnd = 0)
    {
        var numbered = channelEvent with { Sequence = ++_lastSequence };
        var now = time.GetUtcNow();
        _log.Add(new LoggedEvent(numbered, now, sentence, bytesEnd));
        _logBytes += numbered.Audio?.Length ?? 0;
        while (_log.Count - _logStart > 1 && CanTrimOldest(now))
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

    /// <summary>Read events go after the resume window or past the resume buffer; unread ones only past the hard cap on unsent audio,
    /// so a reader cut off for a few seconds (its gateway or the silo of this channel died) loses nothing.</summary>
    private bool CanTrimOldest(DateTimeOffset now)
    {
        if (_logBytes > options.Value.MaxUnsentBytes)
        {
            return true;
        }

        var oldest = _log[_logStart];
        return oldest.Event.Sequence <= _readThrough && (_logBytes > options.Value.ResumeBufferBytes || now - oldest.At > ResumeWindow);
    }

    /// <summary>The event numbered <paramref name="sequence"/>, or the oldest one kept when that one is gone.</summary>
    private bool TryGetEvent(long sequence, out LoggedEvent logged)
    {
        logged = default;
        if (_logStart >= _log.Count || sequence > _lastSequence)
        {
            return false;
        }

        var first = _log[_logStart].Event.Sequence;
        logged = _log[_logStart + (int)Math.Max(0, sequence - first)];
        return true;
    }

    /// <summary>A reader asked for the event after <paramref name="logged"/>, so it has this one: what survives a crash may count it.</summary>
    private void Acknowledge(LoggedEvent logged)
    {
        _readThrough = Math.Max(_readThrough, logged.Event.Sequence);
        if (logged.Event.Kind == ChannelEventKind.TaskEnded && logged.Event.TaskId is { } ended)
        {
            if (_endedUnread.Remove(ended))
            {
                MarkUnsaved();
            }

            return;
        }

        if (logged.Sentence < 0 || logged.Event.TaskId is not { } taskId
            || (!_itemsById.TryGetValue(taskId, out var item) && !_endedUnread.TryGetValue(taskId, out item)))
        {
            return;
        }

        // Words come with a sentence's end, so once they are read the sentence is wholly read.
        var (sentence, bytes) = logged.Event.Kind == ChannelEventKind.Words ? (logged.Sentence + 1, 0L) : (logged.Sentence, logged.BytesEnd);
        var newSentence = sentence != item.ReadSentences;
        item.ReadSentences = sentence;
        item.ReadBytes = bytes;
        var now = time.GetUtcNow();
        if (newSentence || now - _savedAt > s_readSaveInterval)
        {
            MarkUnsaved();
        }
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
        await _saving;
        await saved.ClearStateAsync(cancellationToken);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: task {TaskId} could not be spoken again; it ends with what the channel has")]
    private partial void LogReplayFailed(string sessionId, string taskId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: saving the channel failed")]
    private partial void LogSaveFailed(string sessionId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: channel restored with {Count} unfinished tasks, numbering on from {Sequence}")]
    private partial void LogRestored(string sessionId, int count, long sequence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: cancelling interrupted tasks failed")]
    private partial void LogCancelFailed(string sessionId, Exception exception);

    private sealed class ChannelItem(ChannelTaskInfo info, Priority priority, long order)
    {
        public ChannelTaskInfo Info { get; } = info;

        public Priority Priority { get; } = priority;

        public long Order { get; } = order;

        public List<PendingPiece> Pending { get; } = [];

        public int CompleteSentences { get; set; }

        /// <summary>Bytes received of sentence <see cref="CompleteSentences"/>, the one still arriving.</summary>
        public long SentenceBytes { get; set; }

        /// <summary>The sentence a reader is in, and how many of its bytes it has read: what is saved.</summary>
        public int ReadSentences { get; set; }

        public long ReadBytes { get; set; }

        public double Progress { get; set; }

        public int DurationMs { get; set; }

        public SynthesisStatus? EndStatus { get; set; }

        public TaskError? Error { get; set; }
    }

    /// <summary>Audio or words waiting for the socket; <see cref="BytesEnd"/> is how far into its sentence the audio reaches.</summary>
    private readonly record struct PendingPiece(byte[]? Audio, IReadOnlyList<WordTiming>? Words, int Sentence, long BytesEnd);

    /// <summary>An event kept for resuming, with where it leaves its task once a reader has it (for the saved state).</summary>
    private readonly record struct LoggedEvent(ChannelEvent Event, DateTimeOffset At, int Sentence, long BytesEnd);
}
