using System.Buffers.Binary;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MitTts.Cli;

/// <summary>A MitTts server as the CLI sees it: REST for voices and tokens, the WebSocket for speech (progress and audio as it is made).</summary>
public sealed class ServerClient : IDisposable
{
    private readonly Uri _baseAddress;
    private readonly HttpClient _http;
    private string? _token;

    public ServerClient(Uri baseAddress, string? token)
    {
        _baseAddress = baseAddress;
        _token = token;
        _http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(5) };
        Authorize();
    }

    /// <summary>Trades an API key for an access token (<c>POST /api/v1/auth/token</c>).</summary>
    public async Task LogIn(string apiKey, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync("/api/v1/auth/token", new Dictionary<string, string> { ["api_key"] = apiKey }, cancellationToken);
        var body = await Read(response, cancellationToken);
        _token = body["access_token"]!.GetValue<string>();
        Authorize();
    }

    /// <summary><c>GET /api/v1/voices</c>.</summary>
    public async Task<JsonArray> Voices(string? language, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(language is null ? "/api/v1/voices" : $"/api/v1/voices?language={Uri.EscapeDataString(language)}", cancellationToken);
        var body = await Read(response, cancellationToken);
        return body["voices"]!.AsArray();
    }

    /// <summary>Opens a WebSocket session in JSON mode (audio as base64 with the task's progress) and waits for <c>connected</c>.</summary>
    public async Task<SpeechSession> Connect(CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        if (_token is not null)
        {
            socket.Options.SetRequestHeader("Authorization", "Bearer " + _token);
        }

        var uri = new UriBuilder(_baseAddress) { Scheme = _baseAddress.Scheme == "https" ? "wss" : "ws", Path = "/ws" }.Uri;
        await socket.ConnectAsync(uri, cancellationToken);
        var session = new SpeechSession(socket);
        await session.Send(new Dictionary<string, object> { ["type"] = "connect", ["binary"] = false }, cancellationToken);
        while (await session.Receive(cancellationToken) is { } received)
        {
            switch (received.Type)
            {
                case "connected":
                    return session;
                case "error":
                    await session.DisposeAsync();
                    throw new ServerException(received.Str("code") ?? "error", received.Str("message") ?? "connect refused");
            }
        }

        await session.DisposeAsync();
        if ((int?)socket.CloseStatus == 4401)
        {
            throw new ServerException("unauthorized", _token is null
                ? "the server needs credentials: give --token (MITTTS_TOKEN) or --api-key (MITTTS_API_KEY)"
                : $"the server refused the token ({socket.CloseStatusDescription})");
        }

        throw new ServerException("connection_closed", $"The server closed the socket ({socket.CloseStatus} {socket.CloseStatusDescription}).");
    }

    public void Dispose() => _http.Dispose();

    private void Authorize() =>
        _http.DefaultRequestHeaders.Authorization = _token is null ? null : new AuthenticationHeaderValue("Bearer", _token);

    private static async Task<JsonObject> Read(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken)) as JsonObject;
        if (!response.IsSuccessStatusCode)
        {
            throw new ServerException(body?["code"]?.GetValue<string>() ?? ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture),
                body?["message"]?.GetValue<string>() ?? response.ReasonPhrase ?? "request failed");
        }

        return body ?? throw new ServerException("invalid_response", "The server's answer is not a JSON object.");
    }
}

/// <summary>An error the server answered with: its stable code and message.</summary>
public sealed class ServerException(string code, string message, bool ofRequest = false) : Exception($"{code}: {message}")
{
    public string Code { get; } = code;

    /// <summary>The error is one request's (refused, failed, cancelled): the session goes on.</summary>
    public bool OfRequest { get; } = ofRequest;
}

/// <summary>What arrives on the socket: a JSON message, or a binary frame's audio.</summary>
public readonly record struct Received(JsonObject? Message, ReadOnlyMemory<byte> Audio)
{
    public string? Type => Message?["type"]?.GetValue<string>();

    public string? Str(string name) => Message?[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}

/// <summary>One WebSocket session: send requests, read what comes back in order.</summary>
public sealed class SpeechSession(ClientWebSocket socket) : IAsyncDisposable
{
    private readonly byte[] _buffer = new byte[256 * 1024];
    private byte[] _message = new byte[256 * 1024];

    public async Task Send(object message, CancellationToken cancellationToken) =>
        await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, true, cancellationToken);

    /// <summary>The next message or audio frame; null when the server closed the socket. Audio is valid until the next call.</summary>
    public async Task<Received?> Receive(CancellationToken cancellationToken)
    {
        var length = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(_buffer.AsMemory(), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            if (length + result.Count > _message.Length)
            {
                Array.Resize(ref _message, Math.Max(_message.Length * 2, length + result.Count));
            }

            _buffer.AsSpan(0, result.Count).CopyTo(_message.AsSpan(length));
            length += result.Count;
        }
        while (!result.EndOfMessage);

        if (result.MessageType == WebSocketMessageType.Text)
        {
            return new Received(JsonNode.Parse(Encoding.UTF8.GetString(_message, 0, length)) as JsonObject, ReadOnlyMemory<byte>.Empty);
        }

        // The seed's header: type (1 = audio), length; the audio follows 8 bytes in (this session does not ask for frame sequences).
        return BinaryPrimitives.ReadUInt32BigEndian(_message) == 1 && length >= 8
            ? new Received(null, _message.AsMemory(8, length - 8))
            : new Received(null, ReadOnlyMemory<byte>.Empty);
    }

    public async ValueTask DisposeAsync()
    {
        if (socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
        }

        socket.Dispose();
    }
}
