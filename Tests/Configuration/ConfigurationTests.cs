using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MitTts.Gateway.Wyoming;
using MitTts.Gateway.Hosting;
using MitTts.Grains;
using MitTts.Silo;
using MitTts.Tests.Api;
using Serilog.Events;

namespace MitTts.Tests.Configuration;

public sealed class ConfigurationTests
{
    private static readonly string s_seedConfig = Path.Combine(RepositoryRoot(), "deploy", "config.production.json");

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "MitTts.Orleans.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("MitTts.Orleans.sln not found above the test folder.");
    }

    private static IConfiguration Build(Dictionary<string, string?> environment, params string[] args) =>
        new ConfigurationBuilder().AddMitTtsSources(args, environment).Build();

    [Fact]
    public void The_seed_variables_map_onto_configuration()
    {
        var configuration = Build(new()
        {
            ["MIT_TTS_HOST"] = "0.0.0.0",
            ["MIT_TTS_HTTP_PORT"] = "9000",
            ["MIT_TTS_WS_PORT"] = "9001",
            ["MIT_TTS_MAX_TEXT_LENGTH"] = "1200",
            ["MIT_TTS_REDIS_URL"] = "redis://localhost:6379",
            ["MIT_TTS_JWT_SECRET"] = "s3cret",
            ["MIT_TTS_CORS_ORIGINS"] = "https://a.example, https://b.example",
            ["MIT_TTS_LOG_LEVEL"] = "DEBUG",
            ["MIT_TTS_METRICS_ENABLED"] = "true",
            ["MIT_TTS_WYOMING_PORT"] = "10200",
            ["MIT_TTS_WYOMING_HOST"] = "0.0.0.0",
            ["UNRELATED"] = "x",
        });

        Assert.Equal("0.0.0.0", configuration["server:host"]);
        Assert.Equal("9000", configuration["server:http_port"]);
        Assert.Equal("9001", configuration["server:ws_port"]);
        Assert.Equal("redis://localhost:6379", configuration["redis:url"]);
        Assert.Equal("s3cret", configuration["security:jwt_secret"]);
        Assert.Equal(["https://a.example", "https://b.example"], configuration.GetSection("security:cors_origins").Get<string[]>()!);
        Assert.Equal("DEBUG", configuration["logging:level"]);
        Assert.Equal(1200, configuration.GetSection(TtsOptions.Section).Get<TtsOptions>()!.MaxTextLength);
        var wyoming = configuration.GetSection(WyomingOptions.Section).Get<WyomingOptions>()!;
        Assert.Equal((10200, "0.0.0.0"), (wyoming.Port, wyoming.Host));
    }

    [Fact]
    public async Task Wyoming_is_off_unless_a_port_is_set()
    {
        await using var gateway = await RunningGateway.Start();

        var wyoming = gateway.Services.GetRequiredService<WyomingServer>();

        // No listener: the server binds only for a port other than 0, and says which it bound.
        Assert.Equal(0, wyoming.BoundPort);
        Assert.Equal(0, gateway.Services.GetRequiredService<WyomingOptions>().Port);
    }

    [Fact]
    public void Cuda_provider_options_are_read_by_name_and_are_none_unless_given()
    {
        static TtsOptions Read(params string[] args) =>
            new ConfigurationBuilder().AddCommandLine(args).Build().GetSection(TtsOptions.Section).Get<TtsOptions>()!;

        var configured = Read("--tts:cuda_provider_options:use_tf32=1", "--tts:cuda_provider_options:gpu_mem_limit=2147483648");
        var plain = Read("--tts:onnx_threads=2");

        Assert.Equal(new Dictionary<string, string> { ["use_tf32"] = "1", ["gpu_mem_limit"] = "2147483648" }, configured.CudaProviderOptions);
        Assert.Empty(plain.CudaProviderOptions);
    }

    [Fact]
    public void The_seed_production_file_is_accepted_with_placeholders_from_the_environment()
    {
        var configuration = Build(new() { ["JWT_SECRET"] = "from-env", [MitTtsConfiguration.ConfigFileVariable] = s_seedConfig });

        var tts = configuration.GetSection(TtsOptions.Section).Get<TtsOptions>()!;
        Assert.Equal("/app/models", tts.ModelPath);
        Assert.Equal(5000, tts.MaxTextLength);
        Assert.Equal(["es", "en", "fr"], tts.SupportedLanguages);
        Assert.Equal("es-female-1", tts.DefaultVoice);
        Assert.Equal("from-env", configuration["security:jwt_secret"]);
        Assert.Equal("100/minute", configuration["security:rate_limits:synthesize"]);
        Assert.Equal("8000", configuration["server:http_port"]);
        Assert.Equal("true", configuration["monitoring:metrics_enabled"]);
    }

    [Fact]
    public void Variables_override_the_file_and_the_command_line_names_the_file()
    {
        var configuration = Build(new() { ["MIT_TTS_HTTP_PORT"] = "8100" }, "--config", s_seedConfig);

        Assert.Equal("8100", configuration["server:http_port"]);
        Assert.Equal("0.0.0.0", configuration["server:host"]);
    }

    [Theory]
    [InlineData("DEBUG", LogEventLevel.Debug)]
    [InlineData("INFO", LogEventLevel.Information)]
    [InlineData("info", LogEventLevel.Information)]
    [InlineData("WARNING", LogEventLevel.Warning)]
    [InlineData("ERROR", LogEventLevel.Error)]
    [InlineData("CRITICAL", LogEventLevel.Fatal)]
    [InlineData(null, LogEventLevel.Information)]
    public void Seed_log_levels_are_understood(string? level, LogEventLevel expected)
    {
        Assert.Equal(expected, MitTts.Silo.Observability.MitTtsLogging.ParseLevel(level));
    }

    [Fact]
    public void An_unknown_log_level_is_a_clear_error()
    {
        var error = Assert.Throws<InvalidOperationException>(() => MitTts.Silo.Observability.MitTtsLogging.ParseLevel("LOUD"));
        Assert.Contains("LOUD", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_gateway_starts_from_the_seed_production_file()
    {
        // The file says 0.0.0.0:8000; the test keeps to loopback and a free port, the rest comes from the file.
        await using var gateway = await RunningGateway.Start("--config", s_seedConfig, "--server:host=127.0.0.1", "--server:http_port=0");

        var health = await gateway.Client.GetAsync("/api/v1/health");

        Assert.True(health.IsSuccessStatusCode);
    }
}
