using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.IO.Pipelines;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.OpenAi;

/// <summary>How <c>/v1/audio/speech</c> sends its audio: the bytes themselves, or server-sent events carrying them in base64.</summary>
public enum SpeechStreamFormat
{
    Audio,
    Sse,
}

/// <summary>Sends one streamed task's audio from its own channel (<see cref="IAudioChannelGrain.Listen"/>) to the HTTP response as the
/// engine speaks it: the status and headers wait for the first audio, so a failure before it is an ordinary OpenAI-shaped error.</summary>
/// <remarks>After the first audio a failure cannot change the status: an audio stream is cut (the client sees a broken transfer,
/// never a short file that looks whole); an event stream gets an <c>error</c> event. A client that goes away stops the synthesis.</remarks>
public sealed partial class SpeechStreamResult(
    IAudioChannelGrain channel,
    string taskId,
    AudioFormatInfo format,
    SpeechStreamFormat streamFormat,
    int inputCharacters,
    ILogger logger) : IResult
{
    private readonly ILogger _logger = logger;

    private static readonly System.Text.Json.JsonSerializerOptions s_json = new() { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower };

    private static ReadOnlySpan<byte> DeltaStart => "data: {\"type\":\"speech.audio.delta\",\"audio\":\""u8;

    private static ReadOnlySpan<byte> DeltaEnd => "\"}\n\n"u8;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var aborted = httpContext.RequestAborted;
        var events = channel.Listen(0, aborted).GetAsyncEnumerator(aborted);
        var ended = false;
        try
        {
            // Nothing is sent until the first audio (or the end): until then the status can still say what went wrong.
            ChannelEvent? first = null;
            while (first is null && await events.MoveNextAsync())
            {
                first = events.Current is AudioEvent or TaskEndedEvent ? events.Current : null;
            }

            if (first is TaskEndedEvent { Status: not SynthesisStatus.Completed } failed)
            {
                ended = true;
                await Failure(failed).ToResult().ExecuteAsync(httpContext);
                return;
            }

            if (first is null)
            {
                // The channel let its reader go before the task ended (it was taken over): nothing was sent yet, so say so.
                await new OpenAiError(StatusCodes.Status503ServiceUnavailable, "The audio stream ended before any audio; retry.", null, "stream_interrupted")
                    .ToResult().ExecuteAsync(httpContext);
                return;
            }

            Start(httpContext.Response);
            var body = httpContext.Response.BodyWriter;
            for (var current = first; current is not null; current = await events.MoveNextAsync() ? events.Current : null)
            {
                switch (current)
                {
                    case AudioEvent audio when audio.Audio.Length > 0:
                        await Send(body, audio.Audio, aborted);
                        break;
                    case TaskEndedEvent end:
                        ended = true;
                        await Finish(httpContext, body, end);
                        return;
                }
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away.
        }
        finally
        {
            _ = DisposeQuietly(events);

            // One request, one channel: it ends with the response (a client that left early cancels the synthesis), and its buffers go
            // now rather than after the resume window.
            await Close(ended);
        }
    }

    private void Start(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers["X-Task-Id"] = taskId;
        if (streamFormat == SpeechStreamFormat.Sse)
        {
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache";
        }
        else
        {
            response.ContentType = format.ContentType;
            response.Headers["X-Sample-Rate"] = OpenAiSpeechApi.SampleRate.ToString(CultureInfo.InvariantCulture);
        }
    }

    private ValueTask<FlushResult> Send(PipeWriter body, byte[] audio, CancellationToken cancellationToken)
    {
        if (streamFormat == SpeechStreamFormat.Audio)
        {
            return body.WriteAsync(audio, cancellationToken);
        }

        // One event per piece of audio, base64 written straight into the response's buffer.
        var length = Base64.GetMaxEncodedToUtf8Length(audio.Length);
        body.Write(DeltaStart);
        var span = body.GetSpan(length);
        Base64.EncodeToUtf8(audio, span, out _, out var written);
        body.Advance(written);
        body.Write(DeltaEnd);
        return body.FlushAsync(cancellationToken);
    }

    private async Task Finish(HttpContext httpContext, PipeWriter body, TaskEndedEvent end)
    {
        if (end.Status == SynthesisStatus.Completed)
        {
            if (streamFormat == SpeechStreamFormat.Sse)
            {
                // No tokens here: usage counts the input's characters as input tokens.
                body.Write(System.Text.Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                    $"data: {{\"type\":\"speech.audio.done\",\"usage\":{{\"input_tokens\":{inputCharacters},\"output_tokens\":0,\"total_tokens\":{inputCharacters}}}}}\n\n")));
            }

            await body.FlushAsync(httpContext.RequestAborted);
            return;
        }

        LogEndedMidStream(taskId, end.Error?.Code ?? end.Status.ToString());
        if (streamFormat == SpeechStreamFormat.Sse)
        {
            var error = Failure(end);
            var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
                new OpenAiErrorEvent(new OpenAiErrorDetail(error.Message, error.Type, error.Param, error.Code)), s_json);
            body.Write("data: "u8);
            body.Write(json);
            body.Write("\n\n"u8);
            await body.FlushAsync(httpContext.RequestAborted);
            return;
        }

        // The status is sent: cutting the transfer is the only way left to say the audio is not whole.
        httpContext.Abort();
    }

    private static OpenAiError Failure(TaskEndedEvent end) => end.Status == SynthesisStatus.Cancelled
        ? new OpenAiError(StatusCodes.Status500InternalServerError, "The speech was cancelled before it was complete.", null, end.Error?.Code ?? "task_cancelled")
        : new OpenAiError(end.Error?.IsBusy == true ? StatusCodes.Status429TooManyRequests : StatusCodes.Status500InternalServerError,
            end.Error?.Message ?? "The synthesis failed.", null, end.Error?.Code ?? "task_failed");

    /// <summary>Ends the request's channel: its task (stopped when the client left before the end) and its buffers.</summary>
    private async Task Close(bool ended)
    {
        try
        {
            if (!ended)
            {
                await channel.Interrupt(null, null);
            }

            await channel.Close();
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            LogStopFailed(taskId, e);
        }
    }

    private static async Task DisposeQuietly(IAsyncEnumerator<ChannelEvent> events)
    {
        try
        {
            await events.DisposeAsync();
        }
        catch (Exception e) when (e is OrleansException or TimeoutException or OperationCanceledException or InvalidOperationException)
        {
            // The channel's silo is gone, or the enumeration already ended.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "OpenAI speech {TaskId} ended mid-stream: {Reason}")]
    private partial void LogEndedMidStream(string taskId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "OpenAI speech {TaskId}: stopping its synthesis failed")]
    private partial void LogStopFailed(string taskId, Exception exception);
}
