using System.Buffers.Binary;

namespace MitTts.Cli;

/// <summary>Speaks requests on one session and writes their audio, in order, as it arrives.</summary>
public sealed class Speaker(SpeechSession session, TextWriter progress)
{
    /// <summary>How much of the progress bar is drawn; -1: none on the current line.</summary>
    private int _drawn = -1;

    /// <summary>Speaks <paramref name="request"/> (a <c>synthesize</c> message); its audio goes to <paramref name="output"/> as it arrives,
    /// and <paramref name="firstAudio"/>, when given, is called as the first of it does. Returns the audio bytes written; throws
    /// <see cref="ServerException"/> when the task fails, and on any error that names no request (the session's stream broke or lost
    /// audio: <c>stream_interrupted</c>, <c>events_dropped</c>), since the audio can no longer be whole.</summary>
    public async Task<long> Speak(Dictionary<string, object?> request, Stream output, bool showProgress, CancellationToken cancellationToken, Action? firstAudio = null)
    {
        _drawn = -1;
        try
        {
            return await SpeakOnce(request, output, showProgress, firstAudio, cancellationToken);
        }
        catch (Exception) when (_drawn >= 0)
        {
            // The error the caller prints goes on a line of its own, not after the progress bar.
            await progress.WriteLineAsync();
            throw;
        }
    }

    private async Task<long> SpeakOnce(Dictionary<string, object?> request, Stream output, bool showProgress, Action? firstAudio, CancellationToken cancellationToken)
    {
        var requestId = "cli-" + Guid.NewGuid().ToString("N")[..12];
        request["type"] = "synthesize";
        request["request_id"] = requestId;
        await session.Send(request, cancellationToken);

        long written = 0;
        while (await session.Receive(cancellationToken) is { } received)
        {
            if (received.Message is null)
            {
                if (written == 0 && received.Audio.Length > 0)
                {
                    firstAudio?.Invoke();
                }

                await output.WriteAsync(received.Audio, cancellationToken);
                written += received.Audio.Length;
                continue;
            }

            if (received.Str("request_id") is { } id && id != requestId)
            {
                continue;
            }

            switch (received.Type)
            {
                case "audio":
                    var audio = Convert.FromBase64String(received.Str("data") ?? string.Empty);
                    if (written == 0 && audio.Length > 0)
                    {
                        firstAudio?.Invoke();
                    }

                    await output.WriteAsync(audio, cancellationToken);
                    written += audio.Length;
                    if (showProgress)
                    {
                        Draw(received.Message["progress"]?.GetValue<double>() ?? 0);
                    }

                    break;
                case "error":
                    // Errors of other requests were skipped above: one with our id is this request's, one without is the session's.
                    throw new ServerException(received.Str("code") ?? "error", received.Str("message") ?? "the server refused the request",
                        ofRequest: received.Str("request_id") is not null);
                case "status" when received.Str("status") is "completed":
                    if (showProgress)
                    {
                        Draw(1.0);
                        progress.WriteLine();
                        _drawn = -1;
                    }

                    await output.FlushAsync(cancellationToken);
                    return written;
                case "status" when received.Str("status") is "error" or "cancelled":
                    var error = received.Message["error"];
                    throw new ServerException(error?["code"]?.GetValue<string>() ?? received.Str("status")!, error?["message"]?.GetValue<string>() ?? "the task did not complete",
                        ofRequest: true);
            }
        }

        throw new ServerException("connection_closed", "The server closed the connection before the audio was complete.");
    }

    /// <summary>A WAV written by streaming frames has open-ended sizes; in a file that can seek, write the real ones.</summary>
    public static void FixWavSizes(Stream file)
    {
        if (!file.CanSeek || file.Length < 44)
        {
            return;
        }

        Span<byte> header = stackalloc byte[12];
        file.Position = 0;
        file.ReadExactly(header);
        if (!header[..4].SequenceEqual("RIFF"u8) || !header[8..12].SequenceEqual("WAVE"u8))
        {
            return;
        }

        Span<byte> chunk = stackalloc byte[8];
        var position = 12L;
        while (position + 8 <= file.Length)
        {
            file.Position = position;
            file.ReadExactly(chunk);
            if (chunk[..4].SequenceEqual("data"u8))
            {
                Span<byte> size = stackalloc byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(size, (uint)(file.Length - position - 8));
                file.Position = position + 4;
                file.Write(size);
                file.Position = 4;
                BinaryPrimitives.WriteUInt32LittleEndian(size, (uint)(file.Length - 8));
                file.Write(size);
                file.Position = file.Length;
                return;
            }

            position += 8 + BinaryPrimitives.ReadUInt32LittleEndian(chunk[4..]);
        }
    }

    private void Draw(double fraction)
    {
        const int width = 30;
        var filled = (int)Math.Round(Math.Clamp(fraction, 0, 1) * width);
        if (filled == _drawn)
        {
            return;
        }

        _drawn = filled;
        progress.Write(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"\r[{new string('#', filled)}{new string('.', width - filled)}] {fraction * 100,3:0}%"));
    }
}
