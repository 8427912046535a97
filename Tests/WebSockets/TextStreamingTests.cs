using MitTts.Tests.Api;

namespace MitTts.Tests.WebSockets;

/// <summary>LLM tokens in, audio out: text contexts, sentence detection on partial text, and word timestamps.</summary>
[Collection(GatewayCollection.Name)]
public sealed class TextStreamingTests(GatewayFixture gateway)
{
    [Fact]
    public async Task Tokens_become_one_task_per_sentence_without_breaking_on_abbreviations()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        const string text = "Dr. Smith paid 3.14 dollars, e.g. for coffee at https://example.com/menu.html today. Then he left, etc. and went home! Was it late?";

        // Tokens as an LLM sends them: bits of words, punctuation on its own.
        var tokens = Tokenize(text);
        var first = true;
        foreach (var token in tokens)
        {
            await client.Send(first
                ? new { type = "text", context_id = "c1", text = token, voice_id = "en-male-1", format = "pcm", request_id = "turn-1" }
                : (object)new { type = "text", context_id = "c1", text = token });
            first = false;
        }

        await client.Send(new { type = "end", context_id = "c1" });
        var messages = await client.ReceiveUntil(m => m.Type == "context_end");
        Assert.DoesNotContain(messages, m => m.Type == "error");
        Assert.Equal("c1", messages[^1].Str("context_id"));
        Assert.Equal("turn-1", messages[^1].Str("request_id"));

        var tasks = messages.Where(m => m.Str("status") == "processing").Select(m => m.Str("task_id")).ToList();
        Assert.Equal(3, tasks.Count);
        Assert.All(messages.Where(m => m.Type == "status"), m => Assert.Equal("c1", m.Str("context_id")));
        Assert.Equal(3, messages.Count(m => m.Str("status") == "completed"));
        Assert.True(messages.Count(m => m.IsAudio) >= 3);
    }

    [Fact]
    public async Task Interrupting_a_context_ends_each_of_its_sentences_once_each_naming_the_context()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        var reply = string.Concat(Enumerable.Range(1, 12).Select(i => $"Esta es la frase número {i} de una respuesta larga que el usuario corta. "));
        await client.Send(new { type = "text", context_id = "a", text = reply, voice_id = "es-female-1", format = "pcm" });
        await client.Send(new { type = "flush", context_id = "a" });
        var before = await client.ReceiveUntil(m => m.IsAudio);

        // Barge-in on the context while its first sentence plays and the others wait; a new turn right behind it.
        await client.Send(new { type = "interrupt", context_id = "a" });
        await client.Send(new { type = "synthesize", text = "Dime.", voice_id = "es-female-1", format = "pcm", request_id = "next" });
        var after = await client.ReceiveUntil(m => m.Str("request_id") == "next" && m.Str("status") == "completed");

        var ack = Assert.Single(after, m => m.Type == "interrupted");
        var next = after.FindIndex(m => m.Str("request_id") == "next");
        Assert.DoesNotContain(after.Take(next).Skip(after.IndexOf(ack)), m => m.IsAudio);

        // Every sentence of the context ends once (the one playing and those the channel had waiting), each saying whose it was.
        var ends = before.Concat(after).Where(m => m.Type == "status" && m.Str("status") is "cancelled" or "completed" && m.Str("request_id") != "next").ToList();
        Assert.True(ends.Count(m => m.Str("status") == "cancelled") > 1, $"only {ends.Count} sentences ended: {string.Join(" | ", ends)}");
        Assert.All(ends, m => Assert.Equal("a", m.Str("context_id")));
        Assert.Equal(ends.Count, ends.Select(m => m.Str("task_id")).Distinct().Count());
        var cancelled = ends.Where(m => m.Str("status") == "cancelled").Select(m => m.Str("task_id")).ToList();
        Assert.All(ack.Json!["task_ids"]!.AsArray(), id => Assert.Contains(id!.GetValue<string>(), cancelled));
    }

    [Fact]
    public async Task Interrupting_a_context_while_its_long_text_is_still_being_cut_speaks_none_of_it_after_the_acknowledgement()
    {
        // One message of 200 sentences: the channel cuts and dispatches them one by one, and the barge-in lands while it does.
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await InterruptLongContextAndAssertSilence(client, string.Concat(Enumerable.Range(1, 200).Select(i => $"Frase número {i}, corta. ")));
    }

    /// <summary>Sends <paramref name="reply"/> as one text message, interrupts its context at its first audio and ends it: nothing of
    /// the context may start, play or complete after the acknowledgement (context_end comes once every task of it ended).</summary>
    internal static async Task InterruptLongContextAndAssertSilence(ProtocolClient client, string reply)
    {
        await client.Send(new { type = "text", context_id = "long", text = reply, voice_id = "es-female-1", format = "pcm" });
        await client.ReceiveUntil(m => m.IsAudio);

        await client.Send(new { type = "interrupt", context_id = "long" });
        await client.Send(new { type = "end", context_id = "long" });
        var after = await client.ReceiveUntil(m => m.Type == "context_end");

        var ack = after.FindIndex(m => m.Type == "interrupted");
        Assert.True(ack >= 0, "no acknowledgement");
        var late = after.Skip(ack + 1).Where(m => m.IsAudio || (m.Type == "status" && m.Str("status") is "processing" or "completed")).ToList();
        Assert.True(late.Count == 0, $"after the acknowledgement: {string.Join(" | ", late.Take(10))}; acknowledgement {after[ack]}");
    }

    [Fact]
    public async Task A_context_keeps_its_sentences_audio_with_store_and_refuses_ssml()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "text", context_id = "tagged", text = "<speak>Hola.</speak>", voice_id = "es-female-1", ssml = true });
        var refused = (await client.ReceiveUntil(m => m.Type == "error"))[^1];
        Assert.Equal(("ssml_not_supported", "tagged"), (refused.Str("code"), refused.Str("context_id")));

        await client.Send(new { type = "text", context_id = "kept", text = "Primera frase guardada. Segunda frase guardada.", voice_id = "es-female-1", format = "wav", store = true });
        await client.Send(new { type = "end", context_id = "kept" });
        var messages = await client.ReceiveUntil(m => m.Type == "context_end");
        var completed = messages.Where(m => m.Str("status") == "completed").Select(m => m.Str("task_id")!).ToList();
        Assert.Equal(2, completed.Count);
        foreach (var taskId in completed)
        {
            var task = System.Text.Json.Nodes.JsonNode.Parse(await gateway.Client.GetStringAsync($"/api/v1/tasks/{taskId}"))!;
            Assert.Equal("kept", task["audio_state"]?.GetValue<string>());
            var audio = await gateway.Client.GetAsync(task["audio_url"]!.GetValue<string>());
            Assert.True(audio.IsSuccessStatusCode, $"{taskId}: {(int)audio.StatusCode} {await audio.Content.ReadAsStringAsync()}");
            Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString((await audio.Content.ReadAsByteArrayAsync())[..4]));
        }
    }

    [Fact]
    public async Task The_first_sentence_is_spoken_before_the_rest_of_the_text_arrives()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "text", context_id = "c2", text = "Hello there. ", voice_id = "en-female-1", format = "pcm" });
        await client.Send(new { type = "text", context_id = "c2", text = "How are" });

        // A whole word after the stop proves the sentence ended ("Dr." would not have); "How are" is no sentence yet.
        var messages = await client.ReceiveUntil(m => m.Str("status") == "completed");
        Assert.Contains(messages, m => m.IsAudio);
        Assert.Empty(await client.Drain(TimeSpan.FromMilliseconds(300)));

        await client.Send(new { type = "text", context_id = "c2", text = " you" });
        await client.Send(new { type = "flush", context_id = "c2" });
        var flushed = await client.ReceiveUntil(m => m.Str("status") == "completed");
        Assert.Contains(flushed, m => m.IsAudio);

        // Ending an empty context ends it on the channel at once.
        await client.Send(new { type = "end", context_id = "c2" });
        Assert.Equal("context_end", (await client.ReceiveUntil(m => m.Type == "context_end"))[^1].Type);
    }

    [Fact]
    public async Task Word_timestamps_are_monotonic_and_within_the_audio()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        const string text = "Hello world, this is a test. The second sentence has more words in it.";
        await client.Send(new { type = "synthesize", text, voice_id = "en-male-1", format = "pcm", timestamps = true });
        var taskId = (await client.ReceiveUntil(m => m.Str("status") == "queued"))[^1].Str("task_id")!;
        var messages = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));
        var durationMs = messages[^1].Json!["duration_ms"]!.GetValue<int>();
        var words = messages.Where(m => m.Type == "timestamps")
            .SelectMany(m => m.Json!["words"]!.AsArray())
            .Select(w => (Word: w!["word"]!.GetValue<string>(), Start: w["start_ms"]!.GetValue<int>(), End: w["end_ms"]!.GetValue<int>()))
            .ToList();

        Assert.Equal(["Hello", "world", "this", "is", "a", "test", "The", "second", "sentence", "has", "more", "words", "in", "it"], words.Select(w => w.Word));
        for (var i = 0; i < words.Count; i++)
        {
            Assert.True(words[i].Start < words[i].End, $"{words[i]} has a length");
            Assert.InRange(words[i].End, 0, durationMs);
            if (i > 0)
            {
                Assert.True(words[i].Start >= words[i - 1].End, $"{words[i]} starts after {words[i - 1]}");
            }
        }

        // The second sentence's words are placed after the first sentence's audio, not from zero again.
        Assert.True(words[6].Start > words[5].Start);

        // Timestamps of audio the client already has: each timestamps message follows the frames it describes.
        var audioMs = 0.0;
        foreach (var message in messages)
        {
            if (message.IsAudio)
            {
                audioMs += message.Audio!.Length / 2.0 / 22050 * 1000;
            }
            else if (message.Type == "timestamps")
            {
                Assert.All(message.Json!["words"]!.AsArray(), w => Assert.True(w!["start_ms"]!.GetValue<int>() <= audioMs + 1));
            }
        }
    }

    [Fact]
    public async Task Word_timestamps_go_only_to_a_client_that_asked_for_them()
    {
        await using var client = await ProtocolClient.Connect(gateway.BaseAddress);
        await client.Send(new { type = "connect", frame_sequence = true });
        Assert.Equal("connected", (await client.Receive())!.Type);

        // Text the audio cache has not seen (a cached answer has no words to send): plain, then streamed text, then asked for.
        var text = $"Plain audio for case {Guid.NewGuid():N} here. A second sentence follows it.";
        await client.Send(new { type = "synthesize", text, voice_id = "en-male-1", format = "pcm" });
        var taskId = (await client.Receive())!.Str("task_id")!;
        var plain = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, taskId));
        Assert.Equal("completed", plain[^1].Str("status"));
        Assert.DoesNotContain(plain, m => m.Type == "timestamps");

        // Nothing was numbered and held back: the channel's messages follow each other without a gap.
        var sequences = plain.Select(m => m.Seq!.Value).ToList();
        Assert.Equal(Enumerable.Range((int)sequences[0], sequences.Count).Select(i => (long)i), sequences);

        await client.Send(new { type = "text", context_id = "quiet", text = $"Streamed words for case {Guid.NewGuid():N} here. Done now. ", voice_id = "en-male-1", format = "pcm" });
        await client.Send(new { type = "end", context_id = "quiet" });
        var streamed = await client.ReceiveUntil(m => m.Type == "context_end");
        Assert.Contains(streamed, m => m.IsAudio);
        Assert.DoesNotContain(streamed, m => m.Type == "timestamps");

        // Asked for (which the audio cache never answers): every word, in order.
        await client.Send(new { type = "synthesize", text = "Timed words come back. A second sentence follows them.", voice_id = "en-male-1", format = "pcm", timestamps = true });
        var timedId = (await client.Receive())!.Str("task_id")!;
        var timed = await client.ReceiveUntil(m => ProtocolClient.IsEnd(m, timedId));
        var words = timed.Where(m => m.Type == "timestamps").SelectMany(m => m.Json!["words"]!.AsArray()).Select(w => w!["word"]!.GetValue<string>());
        Assert.Equal(["Timed", "words", "come", "back", "A", "second", "sentence", "follows", "them"], words);
    }

    private static List<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        for (var i = 0; i < text.Length; i += 3)
        {
            tokens.Add(text.Substring(i, Math.Min(3, text.Length - i)));
        }

        return tokens;
    }
}
