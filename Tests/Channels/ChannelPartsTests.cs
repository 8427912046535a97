using MitTts.Grains.Channels;
using MitTts.Grains.Interfaces;

namespace MitTts.Tests.Channels;

/// <summary>The channel's plain parts, without Orleans: a task's received audio (pieces, failover re-runs, duration), the line-up,
/// and the resume log.</summary>
public sealed class ChannelItemTests
{
    private static readonly SynthesisRequest s_request = new("Hola. Adiós.", "es-male-1", AudioFormat.Pcm, Priority.Normal, "s", 1.0, 1.0, Streamed: true, WordTimestamps: true);

    private static ChannelItem Item(bool whole = false, AudioFormat format = AudioFormat.Pcm, bool timestamps = true) =>
        new(new ChannelTaskInfo("t1", "r1", null, whole), s_request with { Format = format, WordTimestamps = timestamps }, 1);

    private static byte[] Bytes(int from, int count) => Enumerable.Range(from, count).Select(i => (byte)i).ToArray();

    private static SentenceAudio Piece(int sentence, long offset, byte[] audio, bool complete = false, IReadOnlyList<WordTiming>? words = null) =>
        new(sentence, offset, audio, words, complete, 0.5, audio.Length / 2);

    [Fact]
    public void Pieces_in_order_become_audio_events_marked_with_where_they_leave_the_task()
    {
        var item = Item();
        item.Take(Piece(0, 0, Bytes(0, 10)));
        item.Take(Piece(0, 10, Bytes(10, 6), complete: true, words: [new WordTiming("Hola", 0, 100)]));

        Assert.Equal([new AudioPosition(0, 10, 5), new AudioPosition(0, 16, 8), new AudioPosition(1, 0, 8)], item.Pending.Select(p => p.Position));
        Assert.IsType<WordsEvent>(item.Pending[2].Event);
        Assert.Equal(Bytes(0, 16), item.Pending.Take(2).SelectMany(p => ((AudioEvent)p.Event).Audio));
        Assert.Equal(new AudioPosition(1, 0, 8), item.Received);
    }

    [Fact]
    public void A_rerun_after_a_failover_adds_only_the_bytes_the_channel_lacks()
    {
        var item = Item();
        item.Take(Piece(0, 0, Bytes(0, 10), complete: true));
        item.Take(Piece(1, 0, Bytes(100, 8)));
        item.Pending.Clear();

        // The re-run starts at sentence 1 byte 8 but, cut on another boundary, sends sentence 1 from byte 4, and sentence 0 again.
        item.Take(Piece(0, 0, Bytes(0, 10), complete: true));
        item.Take(Piece(1, 4, Bytes(104, 10), complete: true));

        var audio = Assert.Single(item.Pending);
        Assert.Equal(Bytes(108, 6), ((AudioEvent)audio.Event).Audio);
        Assert.Equal(new AudioPosition(1, 14, 5 + 4 + 3), audio.Position);
        Assert.Equal(Bytes(0, 10).Concat(Bytes(100, 8)).Concat(Bytes(108, 6)), item.Whole!.WrittenSpan.ToArray());
    }

    [Fact]
    public void A_rerun_that_sends_the_stream_s_first_piece_again_counts_only_the_samples_after_its_header()
    {
        // G.711 WAV: a 58-byte header, then one byte per sample. The channel has the header and 100 samples when the re-run sends the
        // header and 300 samples again.
        var item = Item(format: AudioFormat.Mulaw);
        item.Take(new SentenceAudio(0, 0, new byte[58 + 100], null, false, 0.1, 100, HeaderBytes: 58));
        item.Take(new SentenceAudio(0, 0, new byte[58 + 300], null, true, 0.2, 300, HeaderBytes: 58));

        Assert.Equal(new AudioPosition(1, 0, 300), item.Received);
        item.Complete(new JobCompleted(DurationMs: 0, Audio: null, SampleRate: 8000));
        Assert.Equal(300 * 1000 / 8000, item.DurationMs);
    }

    [Fact]
    public void A_task_rendered_again_after_a_restore_sends_only_what_its_reader_lacks_and_keeps_the_new_whole_file()
    {
        // The reader had sentence 0 with its words, and 4 bytes of sentence 1, from the rendering lost with the channel's silo.
        var item = Item();
        item.RebuildThrough = new AudioPosition(1, 4, 7);
        item.Take(Piece(0, 0, Bytes(0, 10), complete: true, words: [new WordTiming("Hola", 0, 100)]));
        Assert.Empty(item.Pending);

        item.Take(Piece(1, 0, Bytes(10, 6)));
        item.Take(Piece(1, 6, Bytes(16, 4), complete: true, words: [new WordTiming("Adiós", 100, 200)]));

        Assert.Equal(Bytes(14, 2).Concat(Bytes(16, 4)), item.Pending.Where(p => p.Event is AudioEvent).SelectMany(p => ((AudioEvent)p.Event).Audio));
        Assert.Equal("Adiós", Assert.Single(item.Pending.Select(p => p.Event).OfType<WordsEvent>()).Words.Single().Word);
        Assert.Equal([new AudioPosition(1, 6, 8), new AudioPosition(1, 10, 10), new AudioPosition(2, 0, 10)], item.Pending.Select(p => p.Position));
        Assert.Equal(Bytes(0, 20), item.Whole!.WrittenSpan.ToArray());
        Assert.Null(item.RebuildThrough);
    }

    [Fact]
    public void A_task_that_did_not_ask_for_timestamps_gets_its_audio_without_words_events()
    {
        var item = Item(timestamps: false);
        item.Take(Piece(0, 0, Bytes(0, 10), complete: true, words: [new WordTiming("Hola", 0, 100)]));
        item.Take(Piece(1, 0, Bytes(10, 6), complete: true, words: [new WordTiming("Adiós", 100, 200)]));

        Assert.All(item.Pending, p => Assert.IsType<AudioEvent>(p.Event));
        Assert.Equal(Bytes(0, 16), item.Pending.SelectMany(p => ((AudioEvent)p.Event).Audio));
        Assert.Equal(new AudioPosition(2, 0, 8), item.Received);
    }

    [Fact]
    public void A_task_rendered_again_whose_reader_had_a_whole_sentence_sends_the_words_it_lacked()
    {
        // The reader's last event was sentence 0's last audio: it had all of that audio but not the words that follow it.
        var item = Item();
        item.RebuildThrough = new AudioPosition(0, 10, 5);
        item.Take(Piece(0, 0, Bytes(0, 10), complete: true, words: [new WordTiming("Hola", 0, 100)]));

        var words = Assert.Single(item.Pending);
        Assert.Equal("Hola", ((WordsEvent)words.Event).Words.Single().Word);
        Assert.Equal(new AudioPosition(1, 0, 5), words.Position);
    }

    [Fact]
    public void A_stream_false_task_gets_every_word_in_one_event_behind_its_whole_file()
    {
        var item = Item(whole: true);
        item.Take(Piece(0, 0, Bytes(0, 10), complete: true, words: [new WordTiming("Hola", 0, 100)]));
        item.Take(Piece(1, 0, Bytes(10, 6), complete: true, words: [new WordTiming("Adiós", 100, 200), new WordTiming("amigo", 200, 300)]));
        Assert.Empty(item.Pending);

        item.Complete(new JobCompleted(DurationMs: 0, Audio: null, SampleRate: 22050));
        Assert.Equal(2, item.Pending.Count);
        Assert.Equal(Bytes(0, 16), ((AudioEvent)item.Pending[0].Event).Audio);
        Assert.Equal(["Hola", "Adiós", "amigo"], ((WordsEvent)item.Pending[1].Event).Words.Select(w => w.Word));
        Assert.Equal(item.Received, item.Pending[1].Position);
    }

    [Fact]
    public void A_gap_in_the_bytes_means_the_whole_file_can_no_longer_be_joined()
    {
        var item = Item();
        item.Take(Piece(0, 4, Bytes(4, 6)));
        Assert.Null(item.Whole);
    }

    [Fact]
    public void The_duration_counts_the_samples_received_not_what_the_last_run_reports()
    {
        var item = Item();
        item.Take(Piece(0, 0, new byte[22050 * 2], complete: true));
        item.Take(Piece(1, 0, new byte[11025 * 2], complete: true));

        var result = item.Complete(new JobCompleted(DurationMs: 1700, Audio: null, SampleRate: 22050));

        Assert.Equal(1500, item.DurationMs);
        Assert.Equal(SynthesisStatus.Completed, item.EndStatus);
        Assert.NotNull(result);
        Assert.Equal(1.5, result.DurationSeconds);
        Assert.Equal(22050, result.SampleRate);
    }

    [Fact]
    public void A_whole_task_sends_one_finished_file_and_no_pieces()
    {
        var item = Item(whole: true, format: AudioFormat.Wav, timestamps: false);
        var header = new byte[44];
        "RIFF"u8.CopyTo(header);
        "WAVE"u8.CopyTo(header.AsSpan(8));
        "data"u8.CopyTo(header.AsSpan(36));
        item.Take(Piece(0, 0, [.. header, .. new byte[200]], complete: true, words: [new WordTiming("Hola", 0, 10)]));
        Assert.Empty(item.Pending);

        item.Complete(new JobCompleted(0, null, 22050));

        var file = ((AudioEvent)Assert.Single(item.Pending).Event).Audio;
        Assert.Equal(244, file.Length);
        Assert.Equal(200, BitConverter.ToInt32(file, 40));
        Assert.Equal(236, BitConverter.ToInt32(file, 4));
    }
}

public sealed class ChannelTasksTests
{
    private static SynthesisRequest Request(Priority priority) => new("x", "es-male-1", AudioFormat.Pcm, priority, "s", 1.0, 1.0, Streamed: true);

    private static ChannelItem Add(ChannelTasks tasks, string id, Priority priority = Priority.Normal) =>
        tasks.Add(new ChannelTaskInfo(id, null, null), Request(priority));

    [Fact]
    public void The_socket_goes_to_the_highest_priority_then_the_order_asked_and_stays_with_its_task()
    {
        var tasks = new ChannelTasks();
        var n1 = Add(tasks, "n1");
        var n2 = Add(tasks, "n2");
        var h1 = Add(tasks, "h1", Priority.High);

        Assert.Same(h1, tasks.TakeTurn());
        Add(tasks, "c1", Priority.Critical);
        Assert.Same(h1, tasks.TakeTurn());

        tasks.Leave(h1);
        Assert.Equal("c1", tasks.TakeTurn()!.TaskId);
        tasks.Forget("c1");
        Assert.Same(n1, tasks.TakeTurn());
        tasks.Forget(n1);
        Assert.Same(n2, tasks.TakeTurn());
        tasks.Forget(n2);
        Assert.Null(tasks.TakeTurn());
    }

    [Fact]
    public void A_task_that_left_the_line_up_stays_known_until_its_end_is_read()
    {
        var tasks = new ChannelTasks();
        var item = Add(tasks, "t1");
        tasks.Leave(item);

        Assert.Empty(tasks.LineUp);
        Assert.True(tasks.TryGet("t1", out _));
        tasks.Forget("t1");
        Assert.False(tasks.TryGet("t1", out _));
    }

    [Fact]
    public void A_restored_channel_picks_up_where_its_first_reader_stands()
    {
        var tasks = new ChannelTasks();
        tasks.Restore(new ChannelItem(new ChannelTaskInfo("done", null, null), Request(Priority.Normal), 3), order: 5);
        tasks.Restore(new ChannelItem(new ChannelTaskInfo("half", null, null), Request(Priority.Normal), 4), order: 5);
        var later = new ChannelItem(new ChannelTaskInfo("later", null, null), Request(Priority.High), 5);
        tasks.Restore(later, order: 5);

        tasks.ApplyHeld(
        [
            new EventMark(10, "done", AudioPosition.None, Ends: true),
            new EventMark(11, "half", AudioPosition.None, Ends: false),
            new EventMark(12, "half", new AudioPosition(2, 300, 9000), Ends: false),
            new EventMark(13, "half", new AudioPosition(3, 0, 9100), Ends: false),
        ], held: 12);

        Assert.False(tasks.TryGet("done", out _));
        Assert.True(tasks.TryGet("half", out var half));
        Assert.Equal(new AudioPosition(2, 300, 9000), half.Received);
        Assert.True(half.Started);

        // A task that already sounded keeps the socket, ahead of a higher priority that has not.
        Assert.Same(half, tasks.TakeTurn());
        Assert.Equal(6, Add(tasks, "new").Order);
    }
}

public sealed class ResumeLogTests
{
    private static readonly DateTimeOffset s_now = new(2026, 11, 29, 10, 0, 0, TimeSpan.Zero);

    private static AudioEvent Audio(int bytes) => new(0, "t1", null, null, new byte[bytes], 0.5);

    private static ResumeLog Log(long buffer = 1 << 20, long maxUnsent = 1 << 24) => new(TimeSpan.FromSeconds(30), buffer, maxUnsent);

    [Fact]
    public void Events_are_numbered_without_gaps_and_readers_get_only_what_was_released()
    {
        var log = Log();
        log.Append(Audio(10), new AudioPosition(0, 10, 5), s_now, release: false);
        log.Append(Audio(10), new AudioPosition(0, 20, 10), s_now, release: false);

        Assert.Equal(2, log.LastSequence);
        Assert.False(log.TryGet(1, null, out _, out _));
        log.Release(1);
        Assert.True(log.TryGet(1, null, out var first, out var mark));
        Assert.Equal(1, first.Sequence);
        Assert.Equal(new AudioPosition(0, 10, 5), mark.Position);
        Assert.False(log.TryGet(2, null, out _, out _));
    }

    [Fact]
    public void A_reader_let_in_early_reads_on_past_the_saved_events_while_each_next_one_may_go_and_stops_at_one_that_may_not()
    {
        var log = Log();
        log.Append(Audio(10), new AudioPosition(0, 10, 5), s_now, release: false);
        log.Append(Audio(10), new AudioPosition(0, 20, 10), s_now, release: false);
        log.Append(new ContextEndedEvent(0, null, "c1"), AudioPosition.None, s_now, release: false);
        log.Append(Audio(10), new AudioPosition(0, 30, 15), s_now, release: false);
        static bool TaskEvents(EventMark mark) => mark.TaskId is not null;

        Assert.False(log.TryGet(1, null, out _, out _));
        Assert.True(log.TryGet(1, TaskEvents, out var first, out var mark));
        Assert.Equal((1L, new AudioPosition(0, 10, 5)), (first.Sequence, mark.Position));
        Assert.True(log.TryGet(2, TaskEvents, out var second, out _));
        Assert.Equal(2, second.Sequence);

        // The context's end may not go before its save, so neither may what follows it.
        Assert.False(log.TryGet(3, TaskEvents, out _, out _));
        log.Release(3);
        Assert.True(log.TryGet(3, TaskEvents, out var ended, out _));
        Assert.IsType<ContextEndedEvent>(ended);
        Assert.True(log.TryGet(4, TaskEvents, out var fourth, out _));
        Assert.Equal(4, fourth.Sequence);
        Assert.False(log.TryGet(5, TaskEvents, out _, out _));

        // Read past what is released: shedding the unread leaves what the reader has not read, not what is merely saved.
        log.Acknowledge(4);
        Assert.Equal(4, log.ReadThrough);
        Assert.Equal(3, log.Released);
        log.Shed(unread: true);
        Assert.Equal(5, log.FirstKept);
    }

    [Fact]
    public void Read_events_leave_after_the_buffer_fills_unread_ones_stay()
    {
        var log = Log(buffer: 25);
        for (var i = 0; i < 4; i++)
        {
            log.Append(Audio(10), new AudioPosition(0, (i + 1) * 10, 0), s_now, release: true);
        }

        // Nothing read: all four kept although over the buffer.
        Assert.True(log.TryGet(1, null, out var oldest, out _));
        Assert.Equal(1, oldest.Sequence);

        log.Acknowledge(3);
        log.Append(Audio(10), new AudioPosition(0, 50, 0), s_now, release: true);

        // Asking for a trimmed event gives the oldest one kept: the reader sees the jump.
        Assert.True(log.TryGet(1, null, out oldest, out _));
        Assert.True(oldest.Sequence > 1);
        Assert.True(log.TryGet(4, null, out var unread, out _));
        Assert.Equal(4, unread.Sequence);
    }

    [Fact]
    public void Unread_marks_are_what_a_restored_channel_needs_and_numbering_goes_on_after_a_restore()
    {
        var log = Log();
        for (var i = 0; i < 3; i++)
        {
            log.Append(Audio(10), new AudioPosition(0, (i + 1) * 10, 0), s_now, release: true);
        }

        log.Acknowledge(1);
        Assert.Equal([2L, 3L], log.UnreadMarks(through: 3).Select(m => m.Sequence));

        var restored = Log();
        restored.ContinueAfter(3);
        Assert.Equal(4, restored.Append(Audio(1), AudioPosition.None, s_now, release: true).Sequence);
    }

    [Fact]
    public void Shedding_drops_what_was_read_and_with_no_reader_what_was_released_and_the_first_kept_moves_on()
    {
        var log = Log();
        for (var i = 0; i < 4; i++)
        {
            log.Append(Audio(10), new AudioPosition(0, (i + 1) * 10, 0), s_now, release: i < 3);
        }

        log.Acknowledge(2);
        Assert.Equal((1, 40), (log.FirstKept, log.Bytes));

        Assert.Equal(20, log.Shed(unread: false));
        Assert.Equal((3, 20), (log.FirstKept, log.Bytes));

        // Unread but released goes too; the unreleased event (not yet saved, in durable mode) stays.
        Assert.Equal(10, log.Shed(unread: true));
        Assert.Equal((4, 10), (log.FirstKept, log.Bytes));
        Assert.False(log.TryGet(3, null, out _, out _));

        log.Release(4);
        log.Shed(unread: true);
        Assert.Equal((5, 0), (log.FirstKept, log.Bytes));
        Assert.Equal(5, log.Append(Audio(1), AudioPosition.None, s_now, release: true).Sequence);
    }

    [Fact]
    public void Read_audio_moves_into_blocks_and_a_resume_gets_every_byte_and_field_back()
    {
        var log = Log(buffer: 1 << 24);
        var random = new Random(7);
        // Sizes that start, end and span block boundaries, and one larger than several blocks.
        int[] sizes = [1, 4410, ResumeBlocks.BlockSize - 4411, ResumeBlocks.BlockSize, 3 * ResumeBlocks.BlockSize + 17, 8820, 2];
        var sent = new List<AudioEvent>();
        foreach (var size in sizes)
        {
            var audio = new byte[size];
            random.NextBytes(audio);
            var piece = new AudioEvent(0, "t1", "r1", "c1", audio, sent.Count / 10.0);
            sent.Add((AudioEvent)log.Append(piece, new AudioPosition(0, size, 0), s_now, release: true));
        }

        log.Acknowledge(sizes.Length);
        Assert.True(log.BlockBytes >= log.Bytes && log.BlockBytes < log.Bytes + ResumeBlocks.BlockSize);
        for (var i = 0; i < sent.Count; i++)
        {
            Assert.True(log.TryGet(i + 1, null, out var again, out var mark));
            var audio = Assert.IsType<AudioEvent>(again);
            Assert.NotSame(sent[i].Audio, audio.Audio);
            Assert.Equal(sent[i].Audio, audio.Audio);
            Assert.Equal(sent[i], audio with { Audio = sent[i].Audio });
            Assert.Equal(i + 1, mark.Sequence);
        }
    }

    [Fact]
    public void Unread_audio_keeps_its_own_array_only_until_it_has_waited_the_unread_age()
    {
        var log = Log();
        var first = new byte[1000];
        new Random(5).NextBytes(first);
        log.Append(new AudioEvent(0, "t1", null, null, first, 0.1), AudioPosition.None, s_now, release: true);
        log.Append(Audio(500), AudioPosition.None, s_now + ResumeLog.UnreadAge - TimeSpan.FromMilliseconds(1), release: true);
        Assert.Equal(0, log.BlockBytes);

        // A third event comes once the first has waited the unread age: the first goes to the blocks, the second (younger) stays.
        log.Append(Audio(500), AudioPosition.None, s_now + ResumeLog.UnreadAge, release: true);
        Assert.Equal(ResumeBlocks.BlockSize, log.BlockBytes);
        Assert.True(log.TryGet(1, null, out var moved, out _));
        Assert.NotSame(first, ((AudioEvent)moved).Audio);
        Assert.Equal(first, ((AudioEvent)moved).Audio);
        Assert.Equal(1500 + 500, log.Bytes);

        // Reading on moves the rest in order, and the reader gets every byte.
        log.Acknowledge(3);
        Assert.True(log.TryGet(2, null, out var second, out _));
        Assert.Equal(new byte[500], ((AudioEvent)second).Audio);
    }

    [Fact]
    public void Blocks_go_back_as_the_oldest_read_audio_leaves_and_fresh_unread_audio_is_not_in_them()
    {
        var log = Log(buffer: 2 * ResumeBlocks.BlockSize);
        var piece = new byte[ResumeBlocks.BlockSize / 4];
        piece.AsSpan().Fill(0x5A);
        for (var i = 0; i < 4; i++)
        {
            log.Append(new AudioEvent(0, "t1", null, null, piece, 0), AudioPosition.None, s_now, release: true);
        }

        // Unread: the events hold their own arrays, no block is taken.
        Assert.Equal(0, log.BlockBytes);
        log.Acknowledge(4);
        Assert.Equal(ResumeBlocks.BlockSize, log.BlockBytes);

        // 40 more pieces are 10 blocks of audio; the buffer keeps 2 blocks of it, which span at most 3.
        for (var i = 0; i < 40; i++)
        {
            var appended = log.Append(new AudioEvent(0, "t1", null, null, piece, 0), AudioPosition.None, s_now, release: true);
            log.Acknowledge(appended.Sequence);
            Assert.True(log.BlockBytes <= 3 * ResumeBlocks.BlockSize, $"{log.BlockBytes} bytes of blocks after piece {i}");
        }

        Assert.True(log.FirstKept > 30);
        Assert.True(log.TryGet(log.FirstKept, null, out var oldest, out _));
        Assert.Equal(piece, Assert.IsType<AudioEvent>(oldest).Audio);
        log.Clear();
        Assert.Equal(0, log.BlockBytes);
    }
}

public sealed class ResumeAudioTests
{
    [Fact]
    public void Bytes_come_back_exactly_across_block_boundaries_after_older_blocks_were_released()
    {
        var audio = new ResumeAudio();
        var data = new byte[5 * ResumeBlocks.BlockSize + 123];
        new Random(3).NextBytes(data);
        var at = new List<long>();
        for (var offset = 0; offset < data.Length; offset += 1000)
        {
            at.Add(audio.Write(data.AsSpan(offset, Math.Min(1000, data.Length - offset))));
        }

        Assert.Equal(Enumerable.Range(0, at.Count).Select(i => i * 1000L), at);
        Assert.Equal(data, audio.Read(0, data.Length));

        audio.ReleaseBefore(2 * ResumeBlocks.BlockSize + 5);
        Assert.Equal(4 * ResumeBlocks.BlockSize, audio.Capacity);
        Assert.Equal(data.AsSpan(2 * ResumeBlocks.BlockSize + 5, 40000).ToArray(), audio.Read(2 * ResumeBlocks.BlockSize + 5, 40000));
        Assert.Throws<ArgumentOutOfRangeException>(() => audio.Read(ResumeBlocks.BlockSize, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => audio.Read(data.Length - 5, 10));

        // Releasing everything frees every block; writing goes on at the next offset.
        audio.ReleaseBefore(data.Length);
        Assert.Equal(0, audio.Capacity);
        Assert.Equal(data.Length, audio.Write([1, 2, 3]));
        Assert.Equal(new byte[] { 1, 2, 3 }, audio.Read(data.Length, 3));
    }
}
