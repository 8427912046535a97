using System.Globalization;
using BenchmarkDotNet.Reports;

namespace MitTts.Bench;

/// <summary>Turns mean times into "seconds of audio per second of CPU" (each operation runs on one thread).</summary>
internal static class CapacityReport
{
    public static void Print(IEnumerable<Summary> summaries)
    {
        var audioSeconds = EngineAudioSeconds();
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Audio per operation: {audioSeconds:0.000} s of speech"));
        Console.WriteLine("| what | mean | audio seconds per CPU second |");
        Console.WriteLine("|---|---:|---:|");
        foreach (var report in summaries.SelectMany(s => s.Reports))
        {
            if (report.ResultStatistics is not { } statistics)
            {
                continue;
            }

            var seconds = statistics.Mean / 1e9;
            var name = report.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo + " " + report.BenchmarkCase.Parameters.DisplayInfo;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name.Trim()} | {seconds * 1000:0.000} ms | {audioSeconds / seconds:N0} |"));
        }
    }

    private static double EngineAudioSeconds()
    {
        var engine = new MitTts.Speech.Engines.Espeak.EspeakEngine();
        using var pcm = new MitTts.Speech.Audio.PcmBuffer();
        engine.SynthesizeAsync(new MitTts.Speech.Engines.SpeechRequest(AudioEncoderBenchmarks.Text, "en-us"), pcm).GetAwaiter().GetResult();
        return (double)pcm.Count / engine.SampleRate;
    }
}
