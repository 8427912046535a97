using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using MitTts.Tests.Api;
using MitTts.Tests.Cluster;
using MitTts.Tests.Security;
using MitTts.Tests.Support;

namespace MitTts.Tests.Cli;

/// <summary>The <c>mittts</c> CLI, run as its own process against a real server: files that decode, lines from a pipe spoken into one
/// stream, voices, the bench, tokens from an API key, and errors that say what went wrong.</summary>
[Collection(GatewayCollection.Name)]
public sealed class CliTests(GatewayFixture gateway)
{
    private static readonly string s_cli = Path.Combine(RealClusterFixture.BinaryFolder("Cli"), "MitTts.Cli.dll");

    [Theory]
    [InlineData("wav", "wav", "pcm_s16le")]
    [InlineData("mp3", "mp3", "mp3")]
    [InlineData("ogg", "ogg", "opus")]
    public async Task Say_writes_a_file_that_decodes_to_the_spoken_length(string extension, string format, string codec)
    {
        const string text = "Hola, soy la línea de comandos de MitTts y esto es una prueba.";
        var path = Path.Combine(Path.GetTempPath(), $"mittts-cli-{Guid.NewGuid():N}.{extension}");
        try
        {
            var run = await Cli(null, "say", text, "-v", "es-male-1", "-o", path, "--url", gateway.BaseAddress.ToString());
            Assert.True(run.Exit == 0, run.Stderr);
            Assert.Contains("100%", run.Stderr, StringComparison.Ordinal); // the progress bar reached its end

            var file = await File.ReadAllBytesAsync(path);
            var probe = await ExternalTool.Ffprobe(file, extension);
            Assert.Equal(codec, probe.CodecName);
            var reference = await ReferenceSeconds(text, "es-male-1");
            Assert.InRange(probe.DurationSeconds, reference * 0.9, reference * 1.1);
            if (format == "wav")
            {
                // The streamed header's open sizes were written back: RIFF and data sizes match the file.
                Assert.Equal(file.Length - 8, BitConverter.ToInt32(file, 4));
                Assert.Equal(file.Length - 44, BitConverter.ToInt32(file, 40));
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Stream_speaks_each_line_from_a_pipe_into_one_pcm_stream()
    {
        string[] lines = ["Primera línea.", "Segunda línea, algo más larga que la primera.", "", "Tercera."];
        var run = await Cli(string.Join('\n', lines) + "\n", "stream", "-v", "es-male-1", "--url", gateway.BaseAddress.ToString());
        Assert.True(run.Exit == 0, run.Stderr);

        var expected = 0.0;
        foreach (var line in lines.Where(l => l.Length > 0))
        {
            expected += await ReferenceSeconds(line, "es-male-1");
        }

        var seconds = run.Stdout.Length / (2.0 * 22050);
        Assert.Equal(0, run.Stdout.Length % 2);
        Assert.InRange(seconds, expected * 0.9, expected * 1.1);
        Assert.True(new Pcm(Pcm.FromS16Le(run.Stdout), 22050, 1).Rms > 0.01, "the stream is silent");
    }

    [Fact]
    public async Task Voices_lists_the_catalogue_and_bench_reports_both_figures()
    {
        var voices = await Cli(null, "voices", "-l", "es", "--url", gateway.BaseAddress.ToString());
        Assert.True(voices.Exit == 0, voices.Stderr);
        var listed = Encoding.UTF8.GetString(voices.Stdout);
        Assert.Contains("es-female-1", listed, StringComparison.Ordinal);
        Assert.DoesNotContain("en-female-1", listed, StringComparison.Ordinal);

        var bench = await Cli(null, "bench", "-n", "4", "-c", "2", "--url", gateway.BaseAddress.ToString());
        Assert.True(bench.Exit == 0, bench.Stderr);
        var report = Encoding.UTF8.GetString(bench.Stdout);
        Assert.Matches(@"first audio \(4 requests, 1 session\): p50 \d+\.\d ms, p99 \d+\.\d ms", report);
        Assert.Matches(@"throughput \(4 requests, 2 sessions\): \d+\.\d requests/s, \d+\.\d audio-s/s", report);
    }

    [Fact]
    public async Task Say_with_a_language_speaks_in_a_voice_of_that_language()
    {
        const string text = "Hello, this is the command line speaking English.";
        var run = await Cli(null, "say", text, "-l", "en", "-f", "pcm", "-q", "--url", gateway.BaseAddress.ToString());
        Assert.True(run.Exit == 0, run.Stderr);
        var reference = await ReferenceSeconds(text, "en-female-1");
        Assert.InRange(run.Stdout.Length / (2.0 * 22050), reference * 0.9, reference * 1.1);

        var unknown = await Cli(null, "say", text, "--language", "zz", "-o", "-", "--url", gateway.BaseAddress.ToString());
        Assert.Equal(1, unknown.Exit);
        Assert.Contains("language_not_supported", unknown.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Errors_name_their_code_and_exit_non_zero()
    {
        var badVoice = await Cli(null, "say", "hola", "-v", "xx-nobody-9", "-o", "-", "--url", gateway.BaseAddress.ToString());
        Assert.Equal(1, badVoice.Exit);
        Assert.Contains("voice_not_found", badVoice.Stderr, StringComparison.Ordinal);

        var badFormat = await Cli("hola\n", "stream", "-f", "wav", "--url", gateway.BaseAddress.ToString());
        Assert.Equal(2, badFormat.Exit);

        var unreachable = await Cli(null, "voices", "--url", "http://127.0.0.1:9");
        Assert.Equal(2, unreachable.Exit);
        Assert.Contains("cannot reach", unreachable.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("say")]
    [InlineData("say|hola|--speed|abc")]
    [InlineData("bogus")]
    [InlineData("say|hola|--nope")]
    [InlineData("bench|-n|0")]
    [InlineData("bench|-c|-5")]
    [InlineData("say|hola|--url|notaurl")]
    [InlineData("say|hola|-o|/nonexistent-folder-of-mittts/x.wav|--url|{server}")]
    [InlineData("say|hola|-o|speech.xyz|--url|{server}")]
    [InlineData("say|hola|-f|xyz|--url|{server}")]
    [InlineData("say|hola|--priority|urgent|--url|{server}")]
    [InlineData("stream|-f|ogg|--url|{server}")]
    [InlineData("say|hola|-q|-o|/dev/full|--url|{server}")]
    public async Task A_usage_error_exits_2_with_a_message_and_no_stack_trace(string arguments)
    {
        var run = await Cli(null, [.. arguments.Replace("{server}", gateway.BaseAddress.ToString(), StringComparison.Ordinal).Split('|')]);

        Assert.True(run.Exit == 2, $"exit {run.Exit}: {run.Stderr}");
        Assert.StartsWith("mittts: ", run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_say_leaves_an_existing_file_as_it_was_and_creates_none()
    {
        var folder = Directory.CreateTempSubdirectory("mittts-cli-").FullName;
        try
        {
            var existing = Path.Combine(folder, "keep.wav");
            byte[] before = [.. Encoding.ASCII.GetBytes("RIFF"), 1, 2, 3, 4];
            await File.WriteAllBytesAsync(existing, before);
            var fresh = Path.Combine(folder, "new.wav");

            var overExisting = await Cli(null, "say", "hola", "-v", "xx-nobody-9", "-o", existing, "--url", gateway.BaseAddress.ToString());
            var overNothing = await Cli(null, "say", "   ", "-o", fresh, "--url", gateway.BaseAddress.ToString());

            Assert.Equal(1, overExisting.Exit);
            Assert.Contains("voice_not_found", overExisting.Stderr, StringComparison.Ordinal);
            Assert.Equal(1, overNothing.Exit);
            Assert.Equal(before, await File.ReadAllBytesAsync(existing));
            Assert.Equal(["keep.wav"], Directory.GetFiles(folder).Select(Path.GetFileName));

            var spoken = await Cli(null, "say", "hola", "-q", "-o", existing, "--url", gateway.BaseAddress.ToString());
            Assert.True(spoken.Exit == 0, spoken.Stderr);
            var file = await File.ReadAllBytesAsync(existing);
            Assert.Equal(file.Length - 44, BitConverter.ToInt32(file, 40));
            Assert.Equal(["keep.wav"], Directory.GetFiles(folder).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Stream_reports_a_refused_line_and_speaks_the_others()
    {
        string[] lines = ["Primera línea.", "\u001b[31mroja\u001b[0m", "Tercera."];
        var run = await Cli(string.Join('\n', lines) + "\n", "stream", "-v", "es-male-1", "--url", gateway.BaseAddress.ToString());

        Assert.Equal(1, run.Exit);
        Assert.Contains("line 2 not spoken: invalid_text", run.Stderr, StringComparison.Ordinal);
        var expected = await ReferenceSeconds(lines[0], "es-male-1") + await ReferenceSeconds(lines[2], "es-male-1");
        Assert.InRange(run.Stdout.Length / (2.0 * 22050), expected * 0.9, expected * 1.1);
    }

    [Fact]
    public async Task An_api_key_is_traded_for_a_token_and_none_is_refused()
    {
        await using var secure = await RunningGateway.Start(SecureGatewayFixture.Settings());
        var withKey = await Cli(null, "say", "hola", "-q", "-o", "-", "--url", secure.BaseAddress.ToString(), "--api-key", "alice-key");
        Assert.True(withKey.Exit == 0, withKey.Stderr);
        Assert.Equal("RIFF", Encoding.ASCII.GetString(withKey.Stdout, 0, 4));

        var fromEnvironment = await Cli(null, new Dictionary<string, string> { ["MITTTS_URL"] = secure.BaseAddress.ToString(), ["MITTTS_API_KEY"] = "bob-key" }, "voices");
        Assert.True(fromEnvironment.Exit == 0, fromEnvironment.Stderr);

        var without = await Cli(null, "voices", "--url", secure.BaseAddress.ToString());
        Assert.Equal(1, without.Exit);
        Assert.Contains("unauthorized", without.Stderr, StringComparison.Ordinal);
        var sayWithout = await Cli(null, "say", "hola", "-o", "-", "--url", secure.BaseAddress.ToString());
        Assert.Equal(1, sayWithout.Exit);
        Assert.Contains("unauthorized: the server needs credentials", sayWithout.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_and_say_stop_at_once_on_an_error_that_names_no_request()
    {
        // A channel that may hold one byte unsent drops audio the socket has not taken yet: the server says events_dropped, naming
        // no request, and the audio can no longer be whole.
        await using var dropping = await RunningGateway.Start("--websocket:max_unsent_bytes=1");
        var longText = string.Join(' ', Enumerable.Range(1, 30).Select(i => $"Sentence number {i} of a long text."));
        var clock = Stopwatch.StartNew();

        var bench = await Cli(null, "bench", "-n", "4", "-c", "1", "--url", dropping.BaseAddress.ToString());
        var say = await Cli(null, "say", longText, "-q", "-o", "-", "--url", dropping.BaseAddress.ToString());

        Assert.True(bench.Exit == 1, $"bench exited {bench.Exit}: {bench.Stderr}");
        Assert.Contains("events_dropped", bench.Stderr, StringComparison.Ordinal);
        Assert.True(say.Exit == 1, $"say exited {say.Exit}: {say.Stderr}");
        Assert.Contains("events_dropped", say.Stderr, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"the two runs took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_token_from_the_flag_or_MITTTS_TOKEN_is_sent_and_a_bad_one_is_refused()
    {
        await using var secure = await RunningGateway.Start(SecureGatewayFixture.Settings());
        using var anonymous = new HttpClient { BaseAddress = secure.BaseAddress };
        var token = (await SecureGatewayFixture.Login(anonymous, "alice-key")).GetProperty("access_token").GetString()!;

        var fromFlag = await Cli(null, "voices", "--token", token, "--url", secure.BaseAddress.ToString());
        var fromEnvironment = await Cli(null, new Dictionary<string, string> { ["MITTTS_URL"] = secure.BaseAddress.ToString(), ["MITTTS_TOKEN"] = token }, "say", "hola", "-q", "-o", "-");
        var forged = await Cli(null, "voices", "--token", token[..^4] + "AAAA", "--url", secure.BaseAddress.ToString());

        Assert.True(fromFlag.Exit == 0, fromFlag.Stderr);
        Assert.Contains("es-female-1", Encoding.UTF8.GetString(fromFlag.Stdout), StringComparison.Ordinal);
        Assert.True(fromEnvironment.Exit == 0, fromEnvironment.Stderr);
        Assert.Equal("RIFF", Encoding.ASCII.GetString(fromEnvironment.Stdout, 0, 4));
        Assert.Equal(1, forged.Exit);
        Assert.Contains("invalid_token", forged.Stderr, StringComparison.Ordinal);
        Assert.Empty(forged.Stdout);
    }

    private async Task<double> ReferenceSeconds(string text, string voice)
    {
        var response = await gateway.Client.PostAsJsonAsync("/api/v1/synthesize?wait=true", new { text, voice_id = voice, format = "pcm" });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadAsByteArrayAsync()).Length / (2.0 * 22050);
    }

    private static Task<(int Exit, byte[] Stdout, string Stderr)> Cli(string? stdin, params string[] args) => Cli(stdin, null, args);

    private static async Task<(int Exit, byte[] Stdout, string Stderr)> Cli(string? stdin, Dictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(s_cli);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? [])
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = new MemoryStream();
        var reading = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin);
            }

            process.StandardInput.Close();
        }
        catch (IOException) when (process.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            // The CLI refused its arguments and exited before reading its input (a broken pipe here): its exit code and stderr are the answer.
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        await reading;
        return (process.ExitCode, stdout.ToArray(), await errors);
    }
}
