using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.IO.Pipelines;
using MitTts.Gateway.Channels;
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
/// <remarks>A silo death on the way does not end the stream: <see cref="ResumingChannelReader"/> listens again where it left off (cluster
/// mode restores the channel and its task on another silo). After the first audio a failure cannot change the status: an audio stream
/// is cut (the client sees a broken transfer, never a short file that looks whole); an event stream gets an <c>error</c> event. A client
/// that goes away stops the synthesis.</remarks>
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
        var events = new ResumingChannelReader(channel, 0, "OpenAI speech " + taskId, _logger, httpContext.RequestServices.GetRequiredService<ChannelReaderHome>());
        var ended = false;
        var started = false;
        try
        {
            // Nothing is sent until the first audio (or the end): until then the status can still say what went wrong.
            ChannelEvent? current;
            do
            {
                current = await events.Next(aborted);
            }
            while (current is not (AudioEvent or TaskEndedEvent));

            if (current is TaskEndedEvent { Status: not SynthesisStatus.Completed } failed)
            {
                ended = true;
                await Failure(failed).ToResult().ExecuteAsync(httpContext);
                return;
            }

            Start(httpContext.Response);
            started = true;
            var body = httpContext.Response.BodyWriter;
            while (true)
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

                // A silo death on the way is bridged here: the channel comes back elsewhere and the stream goes on after the last event.
                current = await events.Next(aborted);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (ChannelStreamBrokenException e)
        {
            LogEndedMidStream(taskId, e.Message);
            await Broken(httpContext, started);
        }
        finally
        {
            await events.DisposeAsync();

            // One request, one channel: it ends with the response (a client that left early cancels the synthesis), and its buffers go
            // now rather than after the resume window.
            await Close(ended);
        }
    }

    /// <summary>The stream cannot go on whole: before the first audio an ordinary 503; after it an error event, or for the audio itself
    /// a cut transfer (the status is sent, and a clean end would pass a short file off as whole).</summary>
    private async Task Broken(HttpContext httpContext, bool started)
    {
        var error = new OpenAiError(StatusCodes.Status503ServiceUnavailable, "The audio stream from the cluster broke before the speech was complete; retry.", null, "stream_interrupted");
        if (!started)
        {
            await error.ToResult().ExecuteAsync(httpContext);
        }
        else if (streamFormat == SpeechStreamFormat.Sse)
        {
            await WriteErrorEvent(httpContext, error);
        }
        else
        {
            httpContext.Abort();
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
            await WriteErrorEvent(httpContext, Failure(end));
            return;
        }

        // The status is sent: cutting the transfer is the only way left to say the audio is not whole.
        httpContext.Abort();
    }

    private static async Task WriteErrorEvent(HttpContext httpContext, OpenAiError error)
    {
        var body = httpContext.Response.BodyWriter;
        var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
            new OpenAiErrorEvent(new OpenAiErrorDetail(error.Message, error.Type, error.Param, error.Code)), s_json);
        body.Write("data: "u8);
        body.Write(json);
        body.Write("\n\n"u8);
        await body.FlushAsync(httpContext.RequestAborted);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "OpenAI speech {TaskId} ended mid-stream: {Reason}")]
    private partial void LogEndedMidStream(string taskId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "OpenAI speech {TaskId}: stopping its synthesis failed")]
    private partial void LogStopFailed(string taskId, Exception exception);
}
