using System.CommandLine;
using MitTts.Cli;

// mittts: the MitTts server from the shell. Server and token from flags or MITTTS_URL / MITTTS_TOKEN / MITTTS_API_KEY.
var url = new Option<string>("--url") { Description = "Server address (MITTTS_URL; default http://127.0.0.1:8000).", Recursive = true };
var token = new Option<string?>("--token") { Description = "Access token (MITTTS_TOKEN).", Recursive = true };
var apiKey = new Option<string?>("--api-key") { Description = "API key traded for a token (MITTTS_API_KEY).", Recursive = true };
var voice = new Option<string?>("--voice", "-v") { Description = "Voice id (mittts voices lists them); default: the server's." };
var format = new Option<string?>("--format", "-f") { Description = "wav, pcm, mp3, ogg, flac, aac, mulaw or alaw; default: from -o's extension, else wav." };
var streamFormat = new Option<string?>("--format", "-f") { Description = "pcm (default) or mp3: the formats whose pieces join into one stream." };
var output = new Option<string?>("--output", "-o") { Description = "Output file; - or none: standard output." };
var speed = new Option<double?>("--speed") { Description = "0.5 to 2.0." };
var speakLanguage = new Option<string?>("--language", "-l") { Description = "Language (es, en, pt-BR): without --voice, a voice that speaks it." };
var priority = new Option<string?>("--priority") { Description = "normal, high or critical." };
OneOf(format, "wav", "pcm", "mp3", "ogg", "flac", "aac", "mulaw", "alaw");
OneOf(streamFormat, "pcm", "mp3");
OneOf(priority, "normal", "high", "critical");
var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress bar." };

var text = new Argument<string>("text") { Description = "What to say; - reads standard input." };
var say = new Command("say", "Speak text into a file (or standard output), with a progress bar.") { text, voice, speakLanguage, format, output, speed, priority, quiet };
say.SetAction((parse, cancel) => Run(parse, cancel, (client, error) => Commands.Say(client, Text(parse.GetValue(text)!), Request(parse), parse.GetValue(output), parse.GetValue(quiet), error, cancel)));

var language = new Option<string?>("--language", "-l") { Description = "Only voices of this language (es, en, …)." };
var voices = new Command("voices", "List the server's voices.") { language };
voices.SetAction((parse, cancel) => Run(parse, cancel, (client, _) => Commands.Voices(client, parse.GetValue(language), Console.Out, cancel)));

var stream = new Command("stream", "Speak each line of standard input as it comes; audio to a file or standard output (pipe it into a player).") { voice, speakLanguage, streamFormat, output, speed, priority };
stream.SetAction((parse, cancel) => Run(parse, cancel, (client, error) => Commands.Stream(client, Console.In, Request(parse), parse.GetValue(output), error, cancel)));

var count = new Option<int>("--requests", "-n") { Description = "Requests in all (default 20).", DefaultValueFactory = _ => 20 };
var concurrency = new Option<int>("--concurrency", "-c") { Description = "Requests at once (default 4).", DefaultValueFactory = _ => 4 };
AtLeastOne(count);
AtLeastOne(concurrency);
var bench = new Command("bench", "Measure first audio (one session) and throughput (concurrent sessions) against the server.") { count, concurrency, voice };
bench.SetAction((parse, cancel) => Run(parse, cancel, (client, _) => Commands.Bench(client, parse.GetValue(count), parse.GetValue(concurrency), parse.GetValue(voice), Console.Out, cancel)));

var root = new RootCommand("mittts: MitTts text-to-speech from the shell.") { say, voices, stream, bench };
root.Options.Add(url);
root.Options.Add(token);
root.Options.Add(apiKey);
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // A usage error is exit code 2, as the README says, like a server that cannot be reached.
    foreach (var error in parsed.Errors)
    {
        await Console.Error.WriteLineAsync($"mittts: {error.Message}");
    }

    await Console.Error.WriteLineAsync("Try 'mittts --help'.");
    return 2;
}

return await parsed.InvokeAsync();

// A value the server would refuse is a usage error (exit 2), caught before anything is sent; case does not matter.
static void OneOf(Option<string?> option, params string[] values) => option.Validators.Add(result =>
{
    if (result.GetValueOrDefault<string?>() is { } value && !values.Contains(value, StringComparer.OrdinalIgnoreCase))
    {
        result.AddError($"{result.Option.Name} must be one of {string.Join(", ", values)}, not '{value}'.");
    }
});

static void AtLeastOne(Option<int> option) => option.Validators.Add(result =>
{
    if (result.GetValueOrDefault<int>() < 1)
    {
        result.AddError($"{result.Option.Name} must be at least 1.");
    }
});

Dictionary<string, object?> Request(ParseResult parse)
{
    var request = new Dictionary<string, object?>();
    Put(request, "voice_id", parse.GetValue(voice));
    Put(request, "language", parse.GetValue(speakLanguage));
    Put(request, "speed", parse.GetValue(speed));
    Put(request, "priority", parse.GetValue(priority)?.ToLowerInvariant());
    var chosen = (parse.GetValue(format) ?? parse.GetValue(streamFormat))?.ToLowerInvariant() ?? FormatOf(parse.GetValue(output));
    Put(request, "format", chosen);
    return request;
}

static void Put(Dictionary<string, object?> request, string key, object? value)
{
    if (value is not null)
    {
        request[key] = value;
    }
}

static string? FormatOf(string? path) => Path.GetExtension(path ?? string.Empty).TrimStart('.').ToLowerInvariant() switch
{
    "wav" => "wav",
    "mp3" => "mp3",
    "ogg" or "opus" => "ogg",
    "pcm" or "raw" => "pcm",
    "flac" => "flac",
    "aac" => "aac",
    _ => null,
};

static string Text(string argument) => argument == "-" ? Console.In.ReadToEnd() : argument;

async Task<int> Run(ParseResult parse, CancellationToken cancel, Func<ServerClient, TextWriter, Task<int>> command)
{
    var address = parse.GetValue(url) ?? Environment.GetEnvironmentVariable("MITTTS_URL") ?? "http://127.0.0.1:8000";
    if (!Uri.TryCreate(address, UriKind.Absolute, out var server) || server.Scheme is not ("http" or "https"))
    {
        await Console.Error.WriteLineAsync($"mittts: '{address}' is not a server address: use http://host:port (--url or MITTTS_URL).");
        return 2;
    }

    if ((parse.GetValue(format) ?? parse.GetValue(streamFormat)) is null && parse.GetValue(output) is { } path && path != "-" && Path.GetExtension(path) is { Length: > 1 } extension
        && FormatOf(path) is null)
    {
        await Console.Error.WriteLineAsync($"mittts: cannot tell a format from '{extension}': name the file .wav, .mp3, .ogg, .flac, .aac or .pcm, or give --format.");
        return 2;
    }

    using var client = new ServerClient(server, parse.GetValue(token) ?? Environment.GetEnvironmentVariable("MITTTS_TOKEN"));
    try
    {
        if ((parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("MITTTS_API_KEY")) is { Length: > 0 } key)
        {
            await client.LogIn(key, cancel);
        }

        return await command(client, Console.Error);
    }
    catch (ServerException e)
    {
        await Console.Error.WriteLineAsync($"mittts: {e.Message}");
        return 1;
    }
    catch (Exception e) when (e is HttpRequestException or System.Net.WebSockets.WebSocketException)
    {
        await Console.Error.WriteLineAsync($"mittts: cannot reach {address}: {e.Message}");
        return 2;
    }
    catch (OutputException e)
    {
        // The output failed while being written (a full disk, a closed pipe): the user's to fix, so a usage error.
        await Console.Error.WriteLineAsync($"mittts: {e.Message}");
        return 2;
    }
    catch (Exception e) when (e is DirectoryNotFoundException or UnauthorizedAccessException or PathTooLongException)
    {
        // The output file cannot be opened (no such folder, no permission): the user's argument, so a usage error.
        await Console.Error.WriteLineAsync($"mittts: cannot write {parse.GetValue(output)}: {e.Message}");
        return 2;
    }
}
