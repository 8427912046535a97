using MitTts.Gateway.Hosting;
using MitTts.Silo;

return await HostRunner.Run(() => GatewayApplication.Create(args));

/// <summary>The gateway's entry point; public so tests can find the assembly.</summary>
public partial class Program;
