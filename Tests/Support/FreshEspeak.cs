using System.Globalization;
using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Espeak;

namespace MitTts.Tests.Support;

/// <summary>Our espeak-ng binding in a process of its own, speaking one request as the first job of that process.</summary>
/// <remarks>libespeak-ng keeps state from one espeak_Synth to the next (pitch flutter phase, pauses: a second identical
/// request differs from sample ~1400 on and by ~40 ms in length), so only the first job of a process can be compared with
/// a fresh <c>espeak-ng</c> command sample for sample. The test assembly is that process: <see cref="Main"/> runs it.</remarks>
public static class FreshEspeak
{
    private const string Command = "fresh-espeak";

    /// <summary>The samples our <see cref="EspeakEngine"/> gives for the request when it is the process's first.</summary>
    public static async Task<short[]> Say(string text, string voice, double speed = 1.0, double pitch = 1.0)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var (_, raw, _) = await ExternalTool.Run(
            dotnet, "exec", typeof(FreshEspeak).Assembly.Location, Command, voice,
            speed.ToString(CultureInfo.InvariantCulture), pitch.ToString(CultureInfo.InvariantCulture), text);
        return Pcm.FromS16Le(raw);
    }

    /// <summary>The test assembly's entry point (the test host does not use it): <c>fresh-espeak VOICE SPEED PITCH TEXT</c>
    /// writes the engine's samples to stdout as s16le.</summary>
    public static async Task<int> Main(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args is not [Command, var voice, var speed, var pitch, var text])
        {
            await Console.Error.WriteLineAsync($"usage: {Command} VOICE SPEED PITCH TEXT");
            return 2;
        }

        var sink = new CollectingSink();
        await new EspeakEngine().SynthesizeAsync(
            new SpeechRequest(text, voice, double.Parse(speed, CultureInfo.InvariantCulture), double.Parse(pitch, CultureInfo.InvariantCulture)), sink);
        var samples = sink.Samples;
        var bytes = new byte[samples.Length * 2];
        for (var i = 0; i < samples.Length; i++)
        {
            bytes[2 * i] = (byte)samples[i];
            bytes[(2 * i) + 1] = (byte)(samples[i] >> 8);
        }

        using var stdout = Console.OpenStandardOutput();
        await stdout.WriteAsync(bytes);
        return 0;
    }
}
