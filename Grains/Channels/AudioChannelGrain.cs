using System.Buffers;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;
using MitTts.Grains.Voices;
using MitTts.Speech.Audio;
using Orleans.Concurrency;
using Orleans.Placement;

namespace MitTts.Grains.Channels;

/// <summary>A session's ordered audio channel: it owns the session's streamed tasks, pulls their audio from the synthesizers, and
/// sends it one task at a time (CRITICAL, HIGH, NORMAL; FIFO within a level), numbered and kept for the resume window.</summary>
/// <remarks>Reentrant: readers wait inside <see cref="IAudioChannelGrain.Listen"/> while the tasks' pulls run; every state change
/// happens between awaits. In durable (cluster) mode the channel saves its tasks, how far a reader has read each, and the marks of the
/// events it let readers have, before it lets them have those events: a channel restored after its silo died knows where any reader
/// stands, starts each task again from there (cut at the byte), and numbers on with no gap and no repeat.</remarks>
[Reentrant]
[PreferLocalPlacement]
public sealed partial class AudioChannelGrain(
    [PersistentState("channel", StorageNames.Sessions)] IPersistentState<ChannelRecord> saved,
    IOptions<ChannelOptions> options,
    IOptions<SynthesisQueueOptions> scheduling,
    SynthesisDispatcher dispatcher,
    ILocalSiloDetails localSilo,
    VoiceCatalog voices,
    TimeProvider time,
    ILogger<AudioChannelGrain> logger)
    : Grain, IAudioChannelGrain
{
    // How many times a task whose synthesizer died is started again before it fails.
    private const int MaxRestarts = 5;

    private readonly List<ChannelItem> _items = [];
    private readonly Dictionary<string, ChannelItem> _itemsById = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TextContext> _contexts = new(StringComparer.Ordinal);
    private ResumeLog _log = null!;
    private ChannelItem? _current;
    private long _order;
    private int _listenerGeneration;
    private int _listeners;
    private IGrainTimer? _abandonTimer;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _saving = Task.CompletedTask;
    private bool _unsaved;
    private bool _inLedger;

    // A restored channel waits for its first reader to learn which of the events it had let out that reader holds.
    private List<EventMark>? _restoredMarks;

    private string SessionId => this.GetPrimaryKeyString();

    private TimeSpan ResumeWindow => TimeSpan.FromSeconds(options.Value.ResumeWindowSeconds);

    private bool Durable => scheduling.Value.FailoverLedger;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _log = new ResumeLog(ResumeWindow, options.Value.ResumeBufferBytes, options.Value.MaxUnsentBytes);
        if (Durable && saved.RecordExists)
        {
            Restore(saved.State);

            // Nobody may come back: the tasks are cancelled after a resume window, as for any channel nobody listens to.
            _abandonTimer = this.RegisterGrainTimer(AbandonIfUnheard, new GrainTimerCreationOptions(ResumeWindow, Timeout.InfiniteTimeSpan) { Interleave = true });
        }

        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        foreach (var item in _items)
        {
            await item.Cancellation.CancelAsync();
        }

        if (Durable)
        {
            await _saving;
            if (_items.Count > 0 || _contexts.Count > 0)
            {
                MarkUnsaved();
                await _saving;
            }
            else if (saved.RecordExists)
            {
                await saved.ClearStateAsync(cancellationToken);
            }
        }
    }

    Task<SubmitResult> IAudioChannelGrain.Submit(ChannelTaskInfo info, SynthesisRequest request)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(request);
        return SubmitItem(info, request, context: null);
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
        if (_restoredMarks is not null)
        {
            ResumeFor(afterSequence);
        }

        // The newest reader owns the channel: a client that reconnected elsewhere ends the old connection's reading.
        var generation = ++_listenerGeneration;
        _listeners++;
        _abandonTimer?.Dispose();
        _abandonTimer = null;
        Signal();
        try
        {
            var next = afterSequence + 1;
            while (generation == _listenerGeneration)
            {
                while (_log.TryGet(next, out var channelEvent, out var mark))
                {
                    next = channelEvent.Sequence + 1;
                    yield return channelEvent;

                    // Asked for the next one: the reader has this one.
                    Acknowledge(mark);
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

    Task<IReadOnlyList<string>> IAudioChannelGrain.Interrupt(IReadOnlyList<string>? taskIds, string? contextId)
    {
        var stopped = new List<string>();
        foreach (var item in _items.ToArray())
        {
            var wanted = taskIds is not null ? taskIds.Contains(item.TaskId)
                : contextId is null || string.Equals(item.Info.ContextId, contextId, StringComparison.Ordinal);
            if (wanted && item.EndStatus is null)
            {
                Stop(item, SynthesisStatus.Cancelled, null);
                stopped.Add(item.TaskId);
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
        return Task.FromResult<IReadOnlyList<string>>(stopped);
    }

    Task<long> IAudioChannelGrain.GetLastSequence() => Task.FromResult(_log.LastSequence);

    private async Task<SubmitResult> SubmitItem(ChannelTaskInfo info, SynthesisRequest request, TextContext? context)
    {
        request = request with { SessionId = SessionId, Streamed = true };
        var item = new ChannelItem(info, request, ++_order);
        DispatchedJob started;
        try
        {
            started = await dispatcher.Start(new SynthesisJob(info.TaskId, request, time.GetUtcNow()), localSilo.Name, avoidDevice: null, item.Cancellation.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogDispatchFailed(SessionId, info.TaskId, e);
            return new TaskRefused(info.TaskId, new TaskError("dispatch_failed", "No synthesizer accepted the task: " + e.Message));
        }

        if (started.Refusal is { } refusal)
        {
            // Refused work never became a task, so it never joins the channel.
            return new TaskRefused(info.TaskId, refusal);
        }

        var queued = started.Queued!;
        item.DeviceKey = queued.DeviceKey;
        _items.Add(item);
        _itemsById[info.TaskId] = item;
        if (context is not null)
        {
            context.OpenTasks++;
        }

        var task = GrainFactory.GetGrain<ITaskGrain>(info.TaskId);
        item.Recording = task.Track(request, queued.DeviceKey);
        _ = Pull(item, started.Events!, 0);

        // An idle channel gives the socket to the new task at once; otherwise it waits its turn.
        Pump();
        MarkUnsaved();
        await EnterLedger();
        try
        {
            await item.Recording;
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            // The record is for status reads; the audio goes on without it.
            LogRecordFailed(SessionId, info.TaskId, e);
        }

        var now = time.GetUtcNow();
        return new TaskAccepted(info.TaskId, new TaskSnapshot(info.TaskId, SynthesisStatus.Queued, request, now, null, null, 0, null, null,
            queued.Position, queued.EstimatedSeconds, null, DeviceKey: queued.DeviceKey));
    }

    private async Task<TextAppendResult> SubmitPieces(TextContext context, IReadOnlyList<string> pieces)
    {
        var tasks = new List<SubmitResult>(pieces.Count);
        foreach (var piece in pieces)
        {
            var info = new ChannelTaskInfo(NewTaskId(), context.Options.RequestId, context.Id);
            var result = await SubmitItem(info, context.Options.Template with { Text = piece }, context);
            tasks.Add(result);
            if (result is TaskRefused refused)
            {
                return new TextAppendResult(tasks, refused.Error);
            }
        }

        return new TextAppendResult(tasks);
    }

    private static string NewTaskId() => "task_" + Guid.NewGuid().ToString("N");

    /// <summary>Reads a task's job to its end; when its synthesizer's silo dies, starts it again elsewhere from the first byte missing.</summary>
    private async Task Pull(ChannelItem item, IAsyncEnumerator<SynthesisEvent> events, int restarts)
    {
        var cancellation = item.Cancellation.Token;
        try
        {
            await using (events.ConfigureAwait(true))
            {
                while (await events.MoveNextAsync())
                {
                    if (Receive(item, events.Current))
                    {
                        return;
                    }
                }
            }

            throw new InvalidOperationException($"Synthesizer {item.DeviceKey} ended task {item.TaskId} without a result.");
        }
        catch (Exception) when (cancellation.IsCancellationRequested || item.EndStatus is not null)
        {
            // Interrupted or abandoned: the task already ended here.
        }
        catch (Exception e)
        {
            LogDeviceLost(SessionId, item.TaskId, item.DeviceKey ?? "?", e.Message);
            await Restart(item, restarts + 1);
        }
    }

    private async Task Restart(ChannelItem item, int restarts)
    {
        if (restarts > MaxRestarts)
        {
            Stop(item, SynthesisStatus.Error, new TaskError("synthesis_failed", "The task's synthesizer was lost too many times."));
            Pump();
            return;
        }

        try
        {
            var job = new SynthesisJob(item.TaskId, item.Request, time.GetUtcNow(), item.Received.Sentence, item.Received.Bytes);
            var started = await dispatcher.Restart(job, localSilo.Name, item.DeviceKey, item.Cancellation.Token);
            if (started.Refusal is { } refusal)
            {
                Stop(item, SynthesisStatus.Error, refusal with { Message = "The task's device died and every other queue is full." });
                Pump();
                return;
            }

            item.DeviceKey = started.Queued!.DeviceKey;
            await Pull(item, started.Events!, restarts);
        }
        catch (Exception) when (item.Cancellation.IsCancellationRequested || item.EndStatus is not null)
        {
        }
        catch (Exception e)
        {
            LogDispatchFailed(SessionId, item.TaskId, e);
            Stop(item, SynthesisStatus.Error, new TaskError("dispatch_failed", "The task's device died and no other synthesizer accepted it: " + e.Message));
            Pump();
        }
    }

    /// <summary>Takes one event of a task's job; true when it was the job's last.</summary>
    private bool Receive(ChannelItem item, SynthesisEvent synthesisEvent)
    {
        if (item.EndStatus is not null)
        {
            return true;
        }

        switch (synthesisEvent)
        {
            case JobStarted started:
                item.DeviceKey = started.DeviceKey;
                Record(item, new TaskProgress(SynthesisStatus.Processing, DeviceKey: started.DeviceKey));
                return false;
            case SentenceAudio piece:
                TakePiece(item, piece);
                Pump();
                return false;
            case JobCompleted completed:
                // Counted from what arrived: after a failover the audio joins two renderings whose lengths differ slightly.
                item.DurationMs = completed.SampleRate > 0 ? (int)(item.Received.Samples * 1000 / completed.SampleRate) : completed.DurationMs;
                item.Progress = 1.0;
                if (item.Info.Whole && item.Whole is { WrittenCount: > 0 } whole)
                {
                    item.Pending.Add((new AudioEvent(0, item.TaskId, item.Info.RequestId, item.Info.ContextId, FinishedFile(item, whole), 1.0), item.Received));
                }

                item.EndStatus = SynthesisStatus.Completed;
                Record(item, new TaskProgress(SynthesisStatus.Completed, Audio: WholeResult(item)));
                Pump();
                return true;
            case JobFailed failed:
                Stop(item, SynthesisStatus.Error, failed.Error);
                Pump();
                return true;
            default:
                return false;
        }
    }

    /// <summary>Keeps the part of a piece the channel lacks: a re-run after a failover may send the start of a sentence again.</summary>
    private static void TakePiece(ChannelItem item, SentenceAudio piece)
    {
        var at = item.Received;
        if (piece.Sentence != at.Sentence)
        {
            return;
        }

        var audio = piece.Audio;
        var samples = piece.Samples;
        var known = at.Bytes - piece.Offset;
        if (known > 0)
        {
            // The samples the kept bytes stand for: exact for PCM and G.711 (bytes per sample fixed), proportional otherwise.
            var kept = known >= audio.Length ? 0 : audio.Length - (int)known;
            samples = audio.Length == 0 ? 0 : samples * kept / audio.Length;
            audio = kept == 0 ? [] : audio[(int)known..];
        }
        else if (known < 0)
        {
            // A gap: never expected, since a re-run starts at the first byte missing; the whole file can no longer be joined.
            item.Whole = null;
        }

        item.Progress = piece.Progress;
        if (audio.Length > 0 || samples > 0)
        {
            at = item.Received = at with { Bytes = at.Bytes + audio.Length, Samples = at.Samples + samples };
            item.Whole?.Write(audio);
            if (audio.Length > 0 && !item.Info.Whole)
            {
                item.Pending.Add((new AudioEvent(0, item.TaskId, item.Info.RequestId, item.Info.ContextId, audio, piece.Progress), at));
            }
        }

        if (piece.SentenceComplete)
        {
            at = item.Received = at with { Sentence = at.Sentence + 1, Bytes = 0 };
        }

        if (piece.Words is { Count: > 0 } words && !item.Info.Whole)
        {
            // Words come with the piece that ends their sentence: a reader holding them holds the whole sentence, so a restore from
            // this event starts at the next one (from the audio event before it, the words would be said again).
            item.Pending.Add((new WordsEvent(0, item.TaskId, item.Info.RequestId, item.Info.ContextId, words), at));
        }
    }

    private static byte[] FinishedFile(ChannelItem item, ArrayBufferWriter<byte> whole)
    {
        var file = whole.WrittenSpan.ToArray();
        if (item.Request.Format == AudioFormat.Wav)
        {
            WavEncoder.SetLengths(file);
        }

        return file;
    }

    /// <summary>The task's whole file for its record, when the channel received all of it in this activation.</summary>
    private static AudioResult? WholeResult(ChannelItem item)
    {
        if (item.Whole is not { WrittenCount: > 0 } whole)
        {
            return null;
        }

        var encoder = AudioEncoders.Get(item.Request.Format.ToString());
        var rate = item.Request.SampleRate ?? encoder.RequiredSampleRate ?? 0;
        return new AudioResult(FinishedFile(item, whole), encoder.ContentType, encoder.FileExtension, rate, item.DurationMs / 1000.0);
    }

    /// <summary>Moves the audio of the task that holds the socket into the log, and picks the next one when it ends.</summary>
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

                if (!_current.Started)
                {
                    _current.Started = true;
                    Emit(new TaskStartedEvent(0, _current.TaskId, _current.Info.RequestId, _current.Info.ContextId), AudioPosition.None);
                    emitted = true;
                }
            }

            var current = _current;
            foreach (var (channelEvent, position) in current.Pending)
            {
                Emit(channelEvent, position);
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
            if (Durable)
            {
                MarkUnsaved();
            }
            else
            {
                Signal();
            }
        }
    }

    private void End(ChannelItem item, SynthesisStatus status)
    {
        Emit(new TaskEndedEvent(0, item.TaskId, item.Info.RequestId, item.Info.ContextId, status, item.Error,
            status == SynthesisStatus.Completed ? 1.0 : item.Progress, item.DurationMs), AudioPosition.None);
        item.Ended = true;
        item.Whole = null;
        if (!Durable)
        {
            Forget(item);
        }
        else
        {
            // Kept (saved) until a reader has its end: a crash before that must send the rest again.
            _items.Remove(item);
        }

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
            Emit(new ContextEndedEvent(0, context.Options.RequestId, context.Id), AudioPosition.None);
        }

        return true;
    }

    /// <summary>The next task to sound: one that already started (restored), else highest priority first, then the order asked.</summary>
    private ChannelItem? NextItem()
    {
        ChannelItem? best = null;
        foreach (var item in _items)
        {
            if (item.Started)
            {
                return item;
            }

            if (best is null || item.Priority > best.Priority || (item.Priority == best.Priority && item.Order < best.Order))
            {
                best = item;
            }
        }

        return best;
    }

    /// <summary>Ends a task here: its audio leaves the channel (a task that never sounded leaves no trace), its synthesis stops, and
    /// its record says how it ended.</summary>
    private void Stop(ChannelItem item, SynthesisStatus status, TaskError? error)
    {
        item.Pending.Clear();
        item.EndStatus = status;
        item.Error = error;
        item.Cancellation.Cancel();
        Record(item, new TaskProgress(status, error));
        if (!ReferenceEquals(item, _current))
        {
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
        _itemsById.Remove(item.TaskId);
        _unsaved = true;
    }

    /// <summary>Tells the task grain where the task stands, in order, behind the audio path.</summary>
    private void Record(ChannelItem item, TaskProgress progress)
    {
        item.Recording = RecordAfter(item.Recording, item.TaskId, progress);
    }

    private async Task RecordAfter(Task previous, string taskId, TaskProgress progress)
    {
        try
        {
            await previous;
        }
        catch (Exception)
        {
            // Logged where it failed.
        }

        try
        {
            await GrainFactory.GetGrain<ITaskGrain>(taskId).Record(progress);
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            LogRecordFailed(SessionId, taskId, e);
        }
    }

    private void Emit(ChannelEvent channelEvent, AudioPosition position) =>
        _log.Append(channelEvent, position, time.GetUtcNow(), release: !Durable);

    private void Signal()
    {
        _changed.TrySetResult();
        _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A reader has the event <paramref name="mark"/> describes: what a restored channel may count as read.</summary>
    private void Acknowledge(EventMark mark)
    {
        _log.Acknowledge(mark.Sequence);
        if (mark.TaskId is not { } taskId || !_itemsById.TryGetValue(taskId, out var item))
        {
            return;
        }

        if (mark.Ends)
        {
            _itemsById.Remove(taskId);
            _unsaved = true;
            return;
        }

        item.ReadStarted = true;
        if (!mark.Position.IsNone)
        {
            item.Read = mark.Position;
        }
    }

    /// <summary>Durable mode: saves soon, one write in flight, later changes folded into the next; each save lets readers have the
    /// events it covers.</summary>
    private void MarkUnsaved()
    {
        if (!Durable)
        {
            return;
        }

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
            var through = _log.LastSequence;
            saved.State = Snapshot(through);
            try
            {
                await saved.WriteStateAsync();
            }
            catch (Exception e)
            {
                // Storage is down (Redis): readers wait for the next save, which the next change (or this retry) makes.
                LogSaveFailed(SessionId, e);
                await Task.Delay(TimeSpan.FromMilliseconds(200));
                _unsaved = true;
                continue;
            }

            _log.Release(through);
            Signal();
        }
    }

    private ChannelRecord Snapshot(long through)
    {
        var record = new ChannelRecord { LastSequence = through, Order = _order, ReadThrough = _log.ReadThrough };
        foreach (var item in _itemsById.Values)
        {
            record.Items.Add(new ChannelItemRecord(item.Info, item.Request, item.Order, item.ReadStarted, item.Read));
        }

        foreach (var context in _contexts.Values)
        {
            record.Contexts.Add(new TextContextRecord(context.Id, context.Options, context.Language, context.Buffered, context.OpenTasks, context.Ended));
        }

        record.Marks.AddRange(_log.UnreadMarks(through));
        return record;
    }

    private void Restore(ChannelRecord record)
    {
        _order = record.Order;
        _log.ContinueAfter(record.LastSequence);
        foreach (var entry in record.Items)
        {
            var item = new ChannelItem(entry.Info, entry.Request, entry.Order)
            {
                Started = entry.Started,
                ReadStarted = entry.Started,
                Received = entry.Read,
                Read = entry.Read,
                Whole = null,
            };
            _items.Add(item);
            _itemsById[entry.Info.TaskId] = item;
        }

        foreach (var entry in record.Contexts)
        {
            _contexts[entry.Id] = TextContext.Restore(entry);
        }

        _restoredMarks = [.. record.Marks];
        _readThroughAtRestore = record.ReadThrough;
        LogRestored(SessionId, _items.Count, record.LastSequence);
    }

    private long _readThroughAtRestore;

    /// <summary>The first reader of a restored channel holds every event up to <paramref name="afterSequence"/>: tasks pick up from
    /// there, and numbering goes on after it.</summary>
    private void ResumeFor(long afterSequence)
    {
        var marks = _restoredMarks!;
        _restoredMarks = null;
        var held = Math.Clamp(afterSequence, _readThroughAtRestore, _log.LastSequence);
        foreach (var mark in marks)
        {
            if (mark.Sequence > held || mark.TaskId is not { } taskId || !_itemsById.TryGetValue(taskId, out var item))
            {
                continue;
            }

            if (mark.Ends)
            {
                _items.Remove(item);
                _itemsById.Remove(taskId);
                continue;
            }

            item.Started = item.ReadStarted = true;
            if (!mark.Position.IsNone)
            {
                item.Received = item.Read = mark.Position;
            }
        }

        _log.ContinueAfter(held);
        foreach (var item in _items.ToArray())
        {
            _ = Restart(item, 0);
        }

        MarkUnsaved();
    }

    /// <summary>Records this silo as the owner of the session's tasks, so a survivor wakes the channel if the silo dies (cluster mode).</summary>
    private async Task EnterLedger()
    {
        if (!Durable || _inLedger)
        {
            return;
        }

        _inLedger = true;
        try
        {
            await GrainFactory.GetGrain<IJobLedgerGrain>(localSilo.Name).Add(SessionId, JobOwners.Channel);
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            _inLedger = false;
            LogSaveFailed(SessionId, e);
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

        var unfinished = 0;
        foreach (var item in _items.ToArray())
        {
            if (item.EndStatus is null)
            {
                Stop(item, SynthesisStatus.Cancelled, null);
                unfinished++;
            }
        }

        _restoredMarks = null;
        _contexts.Clear();
        _items.Clear();
        _itemsById.Clear();
        _current = null;
        if (unfinished > 0)
        {
            LogAbandoned(SessionId, unfinished);
        }

        _log.Clear();
        if (Durable)
        {
            await _saving;
            await saved.ClearStateAsync(cancellationToken);
            if (_inLedger)
            {
                _inLedger = false;
                await GrainFactory.GetGrain<IJobLedgerGrain>(localSilo.Name).Remove(SessionId);
            }
        }

        DeactivateOnIdle();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId} had no listener for its resume window: {Count} unfinished tasks cancelled")]
    private partial void LogAbandoned(string sessionId, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: task {TaskId} lost its synthesizer {DeviceKey} ({Reason}); starting it again elsewhere")]
    private partial void LogDeviceLost(string sessionId, string taskId, string deviceKey, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: task {TaskId} could not be dispatched")]
    private partial void LogDispatchFailed(string sessionId, string taskId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: the record of task {TaskId} could not be written")]
    private partial void LogRecordFailed(string sessionId, string taskId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: saving the channel failed")]
    private partial void LogSaveFailed(string sessionId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: channel restored with {Count} unfinished tasks, numbering on from {Sequence}")]
    private partial void LogRestored(string sessionId, int count, long sequence);
}
