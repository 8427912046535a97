using System.Globalization;
using StackExchange.Redis;

namespace MitTts.Silo;

/// <summary>Turns the seed's <c>MIT_TTS_REDIS_URL</c> (<c>redis://[user:password@]host:port[/db]</c>, or a StackExchange.Redis
/// configuration string) into connection options that survive Redis restarts.</summary>
public static class RedisConnection
{
    public static ConfigurationOptions Parse(string url)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        ConfigurationOptions options;
        if (url.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase))
        {
            var uri = new Uri(url);
            options = new ConfigurationOptions { Ssl = uri.Scheme.Equals("rediss", StringComparison.OrdinalIgnoreCase) };
            options.EndPoints.Add(uri.Host, uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port);
            if (uri.UserInfo.Length > 0)
            {
                var parts = Uri.UnescapeDataString(uri.UserInfo).Split(':', 2);
                if (parts.Length == 2)
                {
                    options.User = parts[0].Length > 0 ? parts[0] : null;
                    options.Password = parts[1];
                }
                else
                {
                    options.Password = parts[0];
                }
            }

            var path = uri.AbsolutePath.Trim('/');
            if (path.Length > 0)
            {
                options.DefaultDatabase = int.Parse(path, NumberStyles.None, CultureInfo.InvariantCulture);
            }
        }
        else
        {
            options = ConfigurationOptions.Parse(url);
        }

        // Start even while Redis is down and reconnect by itself; fail commands at once instead of queueing them,
        // so a Redis outage becomes a clear error (HTTP 503) rather than a request hanging for the command timeout.
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ConnectTimeout = 2000;
        options.ConnectRetry = 1;
        options.ReconnectRetryPolicy = new LinearRetry(500);
        return options;
    }
}
