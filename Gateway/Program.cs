using MitTts.Gateway.Hosting;

var app = GatewayApplication.Create(args);
await app.RunAsync();

/// <summary>The gateway's entry point; public so tests can find the assembly.</summary>
public partial class Program;
