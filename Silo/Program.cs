using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using MitTts.Silo;

// A silo of its own: cluster mode when MIT_TTS_REDIS_URL is set, otherwise the embedded localhost silo (handy to try).
var builder = Host.CreateApplicationBuilder(args);
builder.Configuration.AddMitTtsSources(args);
builder.Configuration.AddCommandLine(args);
builder.AddMitTtsSiloLogging();
builder.UseOrleans(silo => silo.UseMitTtsSilo(builder.Configuration));
await builder.Build().RunAsync();
