using System.Net.Http.Json;
using System.Text.Json;

namespace MitTts.Tests.Api;

/// <summary>A <c>?wait=true</c> caller that hangs up: nobody else can have the audio, so its synthesis stops.</summary>
public sealed class WaitHangUpTests
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_caller_that_hangs_up_on_wait_true_stops_the_synthesis_it_asked_for()
    {
        await using var gateway = await RunningGateway.Start();
        var before = await Counters(gateway.Client);

        // Minutes of 48 kHz FLAC at half speed: seconds of work for the engine, far longer than the wait below for it to start.
        var text = string.Join(' ', Enumerable.Range(1, 60).Select(i => $"Frase número {i} de una respuesta muy larga."));
        using var hangUp = new CancellationTokenSource();
        var request = gateway.Client.PostAsJsonAsync("/api/v1/synthesize?wait=true",
            new { text, voice_id = "es-male-1", format = "flac", sample_rate = 48000, speed = 0.5 }, hangUp.Token);
        var deadline = DateTime.UtcNow + s_deadline;
        while (!(await Devices(gateway.Client)).Any(d => d.GetProperty("busy").GetBoolean()))
        {
            Assert.True(DateTime.UtcNow < deadline, "the synthesis never started");
            await Task.Delay(10);
        }

        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);

        // The device counts the job's end: cancelled, not completed.
        var after = await Counters(gateway.Client);
        while (after == before)
        {
            Assert.True(DateTime.UtcNow < deadline, "the job never ended");
            await Task.Delay(20);
            after = await Counters(gateway.Client);
        }

        Assert.Equal((before.Completed, before.Cancellations + 1), after);
    }

    private static async Task<(long Completed, long Cancellations)> Counters(HttpClient client)
    {
        var devices = await Devices(client);
        return (devices.Sum(d => d.GetProperty("completed").GetInt64()), devices.Sum(d => d.GetProperty("cancellations").GetInt64()));
    }

    private static async Task<List<JsonElement>> Devices(HttpClient client)
    {
        var status = await client.GetFromJsonAsync<JsonElement>("/api/v1/status");
        return [.. status.GetProperty("tts_engine").GetProperty("devices").EnumerateArray()];
    }
}
