using MitTts.Gateway.Hosting;
using MitTts.Silo;

var app = GatewayApplication.Create(args);
return await HostRunner.Run(app);

/// <summary>The gateway's entry point; public so tests can find the assembly.</summary>
public partial class Program;
