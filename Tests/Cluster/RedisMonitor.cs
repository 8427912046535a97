using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;

namespace MitTts.Tests.Cluster;

/// <summary>Redis's <c>MONITOR</c> on its own connection: every command the server runs, from every client, as it runs. Commands a
/// script runs inside the server are left out (the script's EVALSHA is the one round trip).</summary>
internal sealed class RedisMonitor : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly StreamReader _reader;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private RedisMonitor(TcpClient client, StreamReader reader)
    {
        _client = client;
        _reader = reader;
        _loop = Task.Run(Read);
    }

    /// <summary>Each command seen: its name and its arguments (the first is the key, but for EVAL/EVALSHA, whose keys follow the count).</summary>
    public ConcurrentQueue<RedisCommand> Commands { get; } = new();

    public static async Task<RedisMonitor> Start(int port)
    {
        var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        var stream = client.GetStream();
        await stream.WriteAsync("MONITOR\r\n"u8.ToArray());
        var reader = new StreamReader(stream, Encoding.Latin1);
        var ok = await reader.ReadLineAsync();
        Assert.Equal("+OK", ok);
        return new RedisMonitor(client, reader);
    }

    /// <summary>The commands that name a key containing <paramref name="text"/>.</summary>
    public List<RedisCommand> On(string text) => [.. Commands.Where(command => command.Key?.Contains(text, StringComparison.Ordinal) == true)];

    private async Task Read()
    {
        try
        {
            while (await _reader.ReadLineAsync(_stop.Token) is { } line)
            {
                if (Parse(line) is { } command)
                {
                    Commands.Enqueue(command);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
        }
    }

    // +1700000000.123456 [0 127.0.0.1:50123] "SET" "key" "value"; a script's own calls read [0 lua].
    private static RedisCommand? Parse(string line)
    {
        var open = line.IndexOf(" [", StringComparison.Ordinal);
        var close = line.IndexOf("] ", StringComparison.Ordinal);
        if (open < 0 || close < open || line.AsSpan(open, close - open).Contains("lua", StringComparison.Ordinal))
        {
            return null;
        }

        var arguments = new List<string>();
        var current = new StringBuilder();
        var quoted = false;
        for (var i = close + 2; i < line.Length && arguments.Count < 4; i++)
        {
            var c = line[i];
            if (!quoted)
            {
                quoted = c == '"';
                continue;
            }

            if (c == '\\' && i + 1 < line.Length)
            {
                current.Append(line[++i]);
            }
            else if (c == '"')
            {
                arguments.Add(current.ToString());
                current.Clear();
                quoted = false;
            }
            else
            {
                current.Append(c);
            }
        }

        if (arguments.Count == 0)
        {
            return null;
        }

        var name = arguments[0].ToUpperInvariant();
        var key = name is "EVAL" or "EVALSHA" ? arguments.ElementAtOrDefault(3) : arguments.ElementAtOrDefault(1);
        return new RedisCommand(name, key);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _client.Dispose();
        await _loop;
        _reader.Dispose();
        _stop.Dispose();
    }
}

/// <summary>One command Redis ran, as <see cref="RedisMonitor"/> saw it.</summary>
internal sealed record RedisCommand(string Name, string? Key);
