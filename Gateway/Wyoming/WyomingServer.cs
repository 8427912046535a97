using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using MitTts.Gateway.Apis;
using MitTts.Gateway.Channels;
using MitTts.Gateway.Contracts;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Wyoming;

/// <summary>The <c>wyoming</c> settings: the Wyoming protocol (Home Assistant's voice pipeline) on a TCP port of its own.</summary>
public sealed class WyomingOptions
{
    public const string Section = "wyoming";

    /// <summary>0: off (the default).</summary>
    public int Port { get; set; }

    /// <summary>Wyoming has no authentication: loopback unless set on purpose (a trusted network).</summary>
    public string Host { get; set; } = "127.0.0.1";
}

/// <summary>Answers Wyoming clients: <c>describe</c> with <c>info</c> (the voices), <c>synthesize</c> with <c>audio-start</c>, an
/// <c>audio-chunk</c> per piece as the engine makes it, and <c>audio-stop</c>; failures as <c>error</c>.</summary>
/// <remarks>Each synthesis is a streamed task on a channel of the connection's own (as a WebSocket session's), 16-bit mono PCM at
/// the voice's rate. A silo death mid-stream does not end it (<see cref="ResumingChannelReader"/>); a stream that cannot go on whole is
/// an <c>error</c> (<c>stream_interrupted</c>) and the end of the connection, never an <c>audio-stop</c>.</remarks>
public sealed partial class WyomingServer(
    WyomingOptions options, IGrainFactory grains, VoiceCache voiceCache, SynthesisRequestValidator validator, ChannelReaderHome home, ILogger<WyomingServer> logger)
    : BackgroundService
{
    private TcpListener? _listener;

    /// <summary>The port listened on (the configured one, or the one the system chose for port 0 in tests); 0 before the start.</summary>
    public int BoundPort { get; private set; }

    /// <summary>Binds the port before the host counts as started (a port in use fails the start, and the port is known at once).</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Port != 0)
        {
            var address = options.Host is "0.0.0.0" or "*" ? IPAddress.Any : options.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(options.Host);
            _listener = new TcpListener(address, options.Port < 0 ? 0 : options.Port);
            _listener.Start();
            BoundPort = ((IPEndPoint)_listener.LocalEndpoint).Port;
            LogListening(address, BoundPort);
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_listener is null)
        {
            return;
        }

        var connections = new List<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(stoppingToken);
                connections.RemoveAll(c => c.IsCompleted);
                connections.Add(Serve(client, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _listener.Stop();
            await Task.WhenAll(connections).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task Serve(TcpClient client, CancellationToken stoppingToken)
    {
        using var _ = client;
        client.NoDelay = true;
        await using var network = client.GetStream();
        await using var reader = new BufferedStream(network, 64 * 1024);
        var channel = grains.GetGrain<IAudioChannelGrain>("wy_" + Guid.NewGuid().ToString("N"));
        try
        {
            while (await WyomingEvent.Read(reader, stoppingToken) is { } received)
            {
                switch (received.Type)
                {
                    case "describe":
                        await (await Info()).Write(network, stoppingToken);
                        break;
                    case "synthesize":
                        await Synthesize(received.Data, channel, network, stoppingToken);
                        break;
                    case "ping":
                        // Wyoming's keep-alive: a pong carries the ping's text back.
                        await new WyomingEvent("pong", new JsonObject { ["text"] = Str(received.Data, "text") }).Write(network, stoppingToken);
                        break;
                }
            }
        }
        catch (InvalidDataException e)
        {
            await Error("invalid_event", e.Message).Write(network, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            // The client went away, or the server is stopping.
        }
        catch (ChannelStreamBrokenException e)
        {
            // Never an audio-stop after a cut stream: the client is told, and the connection ends with the channel it can no longer trust.
            LogStreamBroken(e.Message);
            await Error("stream_interrupted", "The audio stream from the cluster broke before the speech was complete; retry.").Write(network, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            LogClusterFailed(e);
            await Error("cluster_unavailable", "The synthesis cluster did not answer; retry shortly.").Write(network, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        finally
        {
            // The connection's channel ends with it: unfinished synthesis stops, buffers go now.
            await channel.Close().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task Synthesize(JsonObject data, IAudioChannelGrain channel, Stream output, CancellationToken cancellationToken)
    {
        var voices = await voiceCache.All();
        // voice is {name, language, speaker}; a plain string is taken as the name.
        var voice = data["voice"] as JsonObject;
        var voiceId = Str(voice, "name") ?? Str(data, "voice");
        if (voiceId is null && Str(voice, "language") is { } language)
        {
            voiceId = VoiceLanguages.Choose(voices, language, null)?.Id;
            if (voiceId is null)
            {
                // Not the default voice in another language: the client asked for this one.
                await Error("voice_not_found", $"No available voice speaks '{language}'; describe lists the voices and their languages.").Write(output, cancellationToken);
                return;
            }
        }
        var (request, error) = await validator.Validate(new SynthesizeBody { Text = Str(data, "text"), VoiceId = voiceId, Format = "pcm" });
        if (error is not null)
        {
            await Error(error.Code, error.Message).Write(output, cancellationToken);
            return;
        }

        var rate = voices.FirstOrDefault(v => v.Id == request!.VoiceId)?.SampleRate ?? 22050;
        var taskId = "task_" + Guid.NewGuid().ToString("N");
        var after = (await channel.GetWindow()).Last;
        if (await channel.Submit(new ChannelTaskInfo(taskId, null, null), request! with { SampleRate = rate, Store = false }) is TaskRefused { Error: { } refused })
        {
            await Error(refused.Code, refused.Message).Write(output, cancellationToken);
            return;
        }

        var format = new JsonObject { ["rate"] = rate, ["width"] = 2, ["channels"] = 1 };
        var chunkData = WyomingEvent.ChunkData(format);

        // A silo death on the way is bridged: the channel comes back elsewhere and the reader listens again after the last event.
        await using var events = new ResumingChannelReader(channel, after, "Wyoming " + taskId, logger, home);
        while (true)
        {
            var channelEvent = await events.Next(cancellationToken);
            if (channelEvent?.TaskId != taskId)
            {
                continue;
            }

            switch (channelEvent)
            {
                case TaskStartedEvent:
                    await new WyomingEvent("audio-start", (JsonObject)format.DeepClone()).Write(output, cancellationToken);
                    break;
                case AudioEvent audio:
                    await WyomingEvent.WriteChunk(output, chunkData, audio.Audio, cancellationToken);
                    break;
                case TaskEndedEvent { Status: SynthesisStatus.Completed }:
                    await new WyomingEvent("audio-stop", []).Write(output, cancellationToken);
                    return;
                case TaskEndedEvent ended:
                    await Error(ended.Error?.Code ?? "synthesis_failed", ended.Error?.Message ?? "The synthesis did not complete.").Write(output, cancellationToken);
                    return;
            }
        }
    }

    /// <summary>The <c>info</c> event: one TTS program, MitTts, and every available voice.</summary>
    private async Task<WyomingEvent> Info()
    {
        var voices = new JsonArray();
        foreach (var voice in await voiceCache.All())
        {
            if (voice.IsAvailable)
            {
                voices.Add(new JsonObject
                {
                    ["name"] = voice.Id,
                    ["attribution"] = new JsonObject { ["name"] = voice.Engine, ["url"] = EngineUrl(voice.Engine) },
                    ["installed"] = true,
                    ["description"] = $"{voice.Name} ({voice.Description})",
                    ["version"] = null,
                    ["languages"] = new JsonArray(voice.Language),
                    ["speakers"] = null,
                });
            }
        }

        var program = new JsonObject
        {
            ["name"] = "mittts",
            ["attribution"] = new JsonObject { ["name"] = "MitTts", ["url"] = "https://mittts.dev" },
            ["installed"] = true,
            ["description"] = "MitTts low-latency text-to-speech",
            ["version"] = ServerApi.Version,
            ["voices"] = voices,
        };
        return new WyomingEvent("info", new JsonObject
        {
            ["asr"] = new JsonArray(), ["tts"] = new JsonArray(program), ["handle"] = new JsonArray(), ["intent"] = new JsonArray(),
            ["wake"] = new JsonArray(), ["mic"] = new JsonArray(), ["snd"] = new JsonArray(),
        });
    }

    private static string EngineUrl(string engine) => engine switch
    {
        "piper" => "https://github.com/rhasspy/piper",
        "kokoro" => "https://github.com/hexgrad/kokoro",
        _ => "https://github.com/espeak-ng/espeak-ng",
    };

    private static string? Str(JsonObject? data, string name) =>
        data?[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static WyomingEvent Error(string code, string text) => new("error", new JsonObject { ["text"] = text, ["code"] = code });

    [LoggerMessage(Level = LogLevel.Information, Message = "Wyoming protocol on {Address}:{Port} (no authentication: keep it on a trusted network)")]
    private partial void LogListening(IPAddress address, int port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Wyoming: a synthesis ended mid-stream: {Reason}")]
    private partial void LogStreamBroken(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Wyoming: the cluster did not answer")]
    private partial void LogClusterFailed(Exception exception);
}
