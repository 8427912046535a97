using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace MitTts.Tests.Wyoming;

/// <summary>A Wyoming client from the protocol's description (a JSON header line, then the data and the payload).</summary>
public sealed class WyomingClient(TcpClient tcp) : IAsyncDisposable
{
    private readonly NetworkStream _stream = tcp.GetStream();

    public static async Task<WyomingClient> Open(int port)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        return new WyomingClient(tcp);
    }

    public async Task Send(string type, JsonObject? data)
    {
        var header = new JsonObject { ["type"] = type, ["version"] = "1.7.0" };
        var bytes = data is null ? [] : Encoding.UTF8.GetBytes(data.ToJsonString());
        if (bytes.Length > 0)
        {
            header["data_length"] = bytes.Length;
        }

        await SendRaw([.. Encoding.UTF8.GetBytes(header.ToJsonString() + "\n"), .. bytes]);
    }

    public async Task SendRaw(byte[] bytes) => await _stream.WriteAsync(bytes);

    /// <summary>The next event; fails when none comes within <paramref name="limit"/> (30 s unless told).</summary>
    public async Task<(string Type, JsonObject Data, byte[] Payload)> Receive(TimeSpan? limit = null)
    {
        using var timeout = new CancellationTokenSource(limit ?? TimeSpan.FromSeconds(30));
        var line = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            Assert.True(await _stream.ReadAsync(one, timeout.Token) == 1, "the server closed the connection");
            if (one[0] == '\n')
            {
                break;
            }

            line.Add(one[0]);
        }

        var header = JsonNode.Parse(line.ToArray())!.AsObject();
        var data = header["data"]?.AsObject() ?? [];
        if (header["data_length"]?.GetValue<int>() is > 0 and var dataLength)
        {
            var bytes = new byte[dataLength];
            await _stream.ReadExactlyAsync(bytes, timeout.Token);
            foreach (var (key, value) in JsonNode.Parse(bytes)!.AsObject())
            {
                data[key] = value?.DeepClone();
            }
        }

        var payload = new byte[header["payload_length"]?.GetValue<int>() ?? 0];
        await _stream.ReadExactlyAsync(payload, timeout.Token);
        return (header["type"]!.GetValue<string>(), data, payload);
    }

    public ValueTask DisposeAsync()
    {
        tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
