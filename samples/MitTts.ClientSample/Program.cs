using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MitTts.Grains.Interfaces;
using Orleans.Configuration;
using StackExchange.Redis;

// usage: MitTts.ClientSample <redis host:port> <output file> [text] [voice]
//   e.g. dotnet MitTts.ClientSample.dll 127.0.0.1:6390 hola.wav "Hola desde un servicio interno." es-female-1
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: MitTts.ClientSample <redis host:port> <output file> [text] [voice]");
    return 2;
}

var (redis, output) = (args[0], args[1]);
var text = args.Length > 2 ? args[2] : "Hola desde un servicio interno.";
var voice = args.Length > 3 ? args[3] : "es-female-1";

// Join the cluster as a client: same service and cluster id as the silos, silos found through Redis.
var builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.UseOrleansClient(client =>
{
    client.Configure<ClusterOptions>(options =>
    {
        options.ServiceId = "mittts";
        options.ClusterId = Environment.GetEnvironmentVariable("MIT_TTS_CLUSTER_ID") ?? "mittts";
    });
    client.UseRedisClustering(options => options.ConfigurationOptions = ConfigurationOptions.Parse(redis));
});
using var host = builder.Build();
await host.StartAsync();

// One task grain per synthesis: submit, wait for its end state, fetch the encoded audio.
var grains = host.Services.GetRequiredService<IGrainFactory>();
var taskId = "sample_" + Guid.NewGuid().ToString("N");
var task = grains.GetGrain<ITaskGrain>(taskId);
var request = new SynthesisRequest(text, voice, AudioFormat.Wav, Priority.Normal, SessionId: null, Speed: 1.0, Pitch: 1.0);
var submitted = await task.Submit(request);
if (submitted is not TaskAccepted { Task: var accepted })
{
    Console.Error.WriteLine($"{taskId}: refused, {((TaskRefused)submitted).Error.Message}");
    await host.StopAsync();
    return 1;
}

Console.WriteLine($"{taskId}: {accepted.Status}, queue position {accepted.QueuePosition}");

var finished = await task.WaitForCompletion().WaitAsync(TimeSpan.FromMinutes(2));
if (finished is not { Status: SynthesisStatus.Completed } || await task.GetAudio() is not { } audio)
{
    Console.Error.WriteLine($"{taskId}: {finished?.Status} {finished?.Error?.Code} {finished?.Error?.Message}");
    await host.StopAsync();
    return 1;
}

await File.WriteAllBytesAsync(output, audio.Data);
Console.WriteLine($"{taskId}: {audio.DurationSeconds:0.00} s of {audio.ContentType} at {audio.SampleRate} Hz written to {output}");
await host.StopAsync();
return 0;
