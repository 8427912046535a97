using BenchmarkDotNet.Running;
using MitTts.Bench;

// dotnet run -c Release --project bench/MitTts.Bench -- --filter '*'   (any BenchmarkDotNet arguments)
var summary = BenchmarkSwitcher.FromAssembly(typeof(AudioEncoderBenchmarks).Assembly).Run(args);
CapacityReport.Print(summary);
