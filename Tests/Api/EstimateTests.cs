using System.Net.Http.Json;
using System.Text.Json;

namespace MitTts.Tests.Api;

/// <summary><c>estimated_time</c> as a client uses it (when to come back for the audio), and a repeat request that the audio cache answers.</summary>
public sealed class EstimateTests
{
    // Minutes of speech at half speed: well under a second of engine time, seconds of Opus encoding.
    private static string LongText(int i) =>
        $"Texto {i}. " + string.Join(" ", Enumerable.Repeat("Una frase larga que tarda en decirse, para que la tarea siga sonando.", 60));

    [Fact]
    public async Task A_repeat_is_answered_from_the_cache_at_once_while_earlier_work_still_waits()
    {
        await using var gateway = await RunningGateway.Start();
        var client = gateway.Client;
        var repeat = new { text = "La caché contesta sin esperar a nadie.", voice_id = "es-female-1", format = "mp3" };
        (await client.Synthesize(repeat, wait: true)).EnsureSuccessStatusCode();

        // Sixteen long tasks (seconds of engine time in all, more than a loaded machine gets through while the repeat is answered)
        // take the device; the repeat comes after them.
        var queued = new List<string>();
        for (var i = 0; i < 16; i++)
        {
            queued.Add((await (await client.Synthesize(new { text = LongText(i), voice_id = "es-female-1", format = "pcm", speed = 0.5 })).Json())
                .GetProperty("task_id").GetString()!);
        }

        var accepted = await (await client.Synthesize(repeat)).Json();
        var estimate = accepted.GetProperty("estimated_time").GetDouble();
        var task = await Finished(client, accepted.GetProperty("task_id").GetString()!);

        // Done while the work before it still waits: a cache hit costs no engine time, so it is not queued behind any.
        var waiting = 0;
        foreach (var id in queued)
        {
            waiting += (await client.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{id}")).GetProperty("status").GetString() == "queued" ? 1 : 0;
            (await client.DeleteAsync($"/api/v1/tasks/{id}")).Dispose();
        }

        Assert.True(task.GetProperty("cache_hit").GetBoolean());
        Assert.True(waiting > 0, "every long task had left the queue before the repeat was answered");
        Assert.InRange(estimate, 0.001, 0.01);
    }

    [Fact]
    public async Task The_estimate_of_a_compressed_file_counts_its_encoding_once_a_file_of_that_format_was_made()
    {
        await using var gateway = await RunningGateway.Start();
        var client = gateway.Client;

        // The first Opus file: its engine time is a fraction of a second, its encoding several.
        var first = await Finished(client, (await (await client.Synthesize(new { text = LongText(1), voice_id = "es-female-1", format = "ogg", speed = 0.5 })).Json())
            .GetProperty("task_id").GetString()!);

        // One of the same length, on the idle device: told about as long as such a file takes, not only its engine time.
        var second = await (await client.Synthesize(new { text = LongText(2), voice_id = "es-female-1", format = "ogg", speed = 0.5 })).Json();
        var estimate = second.GetProperty("estimated_time").GetDouble();

        // What such a file takes: the faster of the two (a busy shared machine only ever makes a run longer; a CI run took 16.4 s for
        // the first where 7.9 s was estimated for the second, and the check against the first alone failed).
        var cost = Math.Min(Took(first), Took(await Finished(client, second.GetProperty("task_id").GetString()!)));
        Assert.InRange(estimate, cost * 0.5, cost * 2);

        static double Took(JsonElement task) =>
            (task.GetProperty("completed_at").GetDateTimeOffset() - task.GetProperty("started_at").GetDateTimeOffset()).TotalSeconds;
    }

    [Theory]
    [InlineData("flac")]
    [InlineData("mp3")]
    public async Task A_long_file_is_estimated_from_what_files_cost_not_from_the_set_up_of_short_ones(string format)
    {
        await using var gateway = await RunningGateway.Start();
        var client = gateway.Client;

        // The warm-up made a one-word file of every format, cold; then a short file of this one is made.
        await Finished(client, (await (await client.Synthesize(new { text = "Una frase corta para empezar, de poco más de cien caracteres en total, y nada más que eso.", voice_id = "es-male-1", format })).Json())
            .GetProperty("task_id").GetString()!);

        // Was 54 s for FLAC's 0.5 s: the fixed cost of a file, charged per character, multiplied by the length of this one.
        var accepted = await (await client.Synthesize(new { text = Numbered("lista"), voice_id = "es-male-1", format })).Json();
        var estimate = accepted.GetProperty("estimated_time").GetDouble();
        var took = Took(await Finished(client, accepted.GetProperty("task_id").GetString()!));

        // What a file of that length costs: the faster of it and one more of the same length (other words, so not from the cache). A
        // busy shared machine only ever makes a run longer (one such run took 1.76 s where 0.37 s had been estimated, and the check failed).
        var again = await (await client.Synthesize(new { text = Numbered("serie"), voice_id = "es-male-1", format })).Json();
        var cost = Math.Min(took, Took(await Finished(client, again.GetProperty("task_id").GetString()!)));

        Assert.True(estimate < cost * 4 && estimate > cost / 4, $"estimated {estimate:F3} s, took {took:F3} s, a file of that length {cost:F3} s");

        static string Numbered(string list) => string.Join(" ", Enumerable.Range(0, 140).Select(i => $"Frase número {i} de la {list}."));
        static double Took(JsonElement task) =>
            (task.GetProperty("completed_at").GetDateTimeOffset() - task.GetProperty("created_at").GetDateTimeOffset()).TotalSeconds;
    }

    private static async Task<JsonElement> Finished(HttpClient client, string taskId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var task = await client.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{taskId}");
            if (task.GetProperty("status").GetString() is "completed" or "error" or "cancelled")
            {
                Assert.Equal("completed", task.GetProperty("status").GetString());
                return task;
            }

            Assert.True(DateTime.UtcNow < deadline, $"task {taskId} did not finish in 60 s");
            await Task.Delay(20);
        }
    }
}
