using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using MitTts.Gateway.Apis;
using MitTts.Gateway.Contracts;
using MitTts.Gateway.Security;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.OpenAi;

/// <summary>The OpenAI-compatible speech API under <c>/v1</c>: <c>POST /audio/speech</c>, <c>GET /models</c>, <c>GET /audio/voices</c>.</summary>
/// <remarks>A speech request is a streamed task on an audio channel of its own (the WebSocket's path, one task long): its audio goes to the
/// response as the engine speaks, whatever <c>stream_format</c>. Validation, scheduling, rate limits and ownership are the REST API's.</remarks>
public static partial class OpenAiSpeechApi
{
    /// <summary>The header that sets a request's priority: <c>normal</c> (default), <c>high</c> or <c>critical</c>.</summary>
    public const string PriorityHeader = "X-MitTts-Priority";

    /// <summary>OpenAI's output rate, for every format (its <c>pcm</c> is documented as 24 kHz).</summary>
    public const int SampleRate = 24000;

    /// <summary>The models a request may name; all of them speak with the voice's own engine.</summary>
    public static IReadOnlyList<string> Models { get; } = ["tts-1", "tts-1-hd", "gpt-4o-mini-tts", "mittts"];

    private static readonly long s_created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public static RouteGroupBuilder MapOpenAiApiV1(this RouteGroupBuilder v1)
    {
        v1.MapPost("/audio/speech", Speech)
            .WithName("OpenAiSpeech")
            .WithSummary("OpenAI-compatible text to speech: the audio, streamed as it is made (stream_format audio or sse).")
            .RequireRateLimiting(SecuritySetup.SynthesizeLimit)
            .AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
            {
                // The body is read by hand (bad JSON gets an OpenAI-shaped error), so describe it here; Accepts() would make routing
                // refuse other content types with a bare 415.
                var schema = await context.GetOrCreateSchemaAsync(typeof(OpenAiSpeechBody), null, cancellationToken);
                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
                };
            })
            .Produces(StatusCodes.Status200OK, contentType: "audio/mpeg")
            .Produces<OpenAiErrorBody>(StatusCodes.Status400BadRequest)
            .Produces<OpenAiErrorBody>(StatusCodes.Status429TooManyRequests);

        v1.MapGet("/models", () => TypedResults.Ok(new OpenAiList<OpenAiModel>([.. Models.Select(Model)])))
            .WithName("OpenAiModels")
            .WithSummary("The model names /v1/audio/speech accepts.");

        v1.MapGet("/models/{model}", (string model) => Models.Contains(model) ? Results.Ok(Model(model)) : ModelNotFound(model).ToResult())
            .WithName("OpenAiModel")
            .WithSummary("One model.");

        v1.MapGet("/audio/voices", ListVoices)
            .WithName("OpenAiVoices")
            .WithSummary("OpenAI's voice names with the MitTts voice each maps to, then every MitTts voice.");
        return v1;
    }

    private static OpenAiModel Model(string id) => new(id, s_created, "mittts");

    private static OpenAiError ModelNotFound(string model) =>
        new(StatusCodes.Status404NotFound, $"The model '{model}' does not exist here; GET /v1/models lists them.", "model", "model_not_found");

    private static async Task<IResult> Speech(
        HttpContext http,
        IGrainFactory grains,
        SynthesisRequestValidator validator,
        IOptions<JsonOptions> json,
        IOptions<OpenAiOptions> options,
        RateLimits limits,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        if (ApiError.IsNotJson(http.Request))
        {
            return OpenAiError.From(ApiError.UnsupportedMediaType).ToResult();
        }

        OpenAiSpeechBody? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<OpenAiSpeechBody>(http.Request.Body, json.Value.SerializerOptions, cancellationToken);
        }
        catch (JsonException e)
        {
            var (param, message) = ApiError.DescribeJson(e);
            return OpenAiError.BadRequest(message, param, "invalid_json").ToResult();
        }

        if (body is null)
        {
            return OpenAiError.BadRequest("The body must be a JSON object.", null, "invalid_json").ToResult();
        }

        var caller = Caller.From(http);
        var (request, streamFormat, refused) = await Validate(body, http.Request.Headers[PriorityHeader], caller, validator, options.Value);
        if (refused is not null)
        {
            return refused.ToResult();
        }

        var taskId = "task_" + Guid.NewGuid().ToString("N");
        if (!await limits.StartTask(caller.UserId, taskId))
        {
            return new OpenAiError(StatusCodes.Status429TooManyRequests, RateLimits.TooManyActiveTasksMessage, null, RateLimits.TooManyActiveTasks)
                .ToResult(retryAfterSeconds: 1);
        }

        // A channel of its own: the task's audio comes to this response, numbered, as it is made; nobody else knows the id.
        var channel = grains.GetGrain<IAudioChannelGrain>("openai_" + Guid.NewGuid().ToString("N"));
        SubmitResult submitted;
        try
        {
            submitted = await channel.Submit(new ChannelTaskInfo(taskId, null, null), request! with { Store = false, Owner = caller.UserId });
        }
        catch
        {
            limits.EndTask(caller.UserId, taskId);
            throw;
        }

        if (submitted is TaskRefused { Error: var error })
        {
            limits.EndTask(caller.UserId, taskId);
            return error.IsBusy
                ? new OpenAiError(StatusCodes.Status429TooManyRequests, error.Message, null, error.Code).ToResult((int)Math.Ceiling(error.RetryAfterSeconds ?? 1))
                : new OpenAiError(StatusCodes.Status503ServiceUnavailable, error.Message, null, error.Code).ToResult();
        }

        var format = (await validator.FormatInfo(request!.Format))!;
        return new SpeechStreamResult(channel, taskId, format, streamFormat, body.Input!.Length, loggers.CreateLogger(typeof(OpenAiSpeechApi).FullName!));
    }

    /// <summary>The OpenAI request as a MitTts streamed request, or the OpenAI-shaped error that refuses it.</summary>
    private static async Task<(SynthesisRequest? Request, SpeechStreamFormat StreamFormat, OpenAiError? Error)> Validate(
        OpenAiSpeechBody body, string? priority, Caller caller, SynthesisRequestValidator validator, OpenAiOptions options)
    {
        if (string.IsNullOrEmpty(body.Model))
        {
            return (null, default, OpenAiError.BadRequest("model is required: tts-1, tts-1-hd, gpt-4o-mini-tts or mittts.", "model", "missing_required_parameter"));
        }

        if (!Models.Contains(body.Model))
        {
            return (null, default, ModelNotFound(body.Model));
        }

        if (string.IsNullOrEmpty(body.Voice))
        {
            return (null, default, OpenAiError.BadRequest($"voice is required: one of {string.Join(", ", OpenAiOptions.OpenAiVoiceNames)}, or a MitTts voice id.", "voice", "missing_required_parameter"));
        }

        if (ResponseFormat(body.ResponseFormat) is not { } format)
        {
            return (null, default, OpenAiError.BadRequest($"Invalid value '{body.ResponseFormat}': response_format is one of mp3, opus, aac, flac, wav, pcm.", "response_format", "invalid_value"));
        }

        SpeechStreamFormat streamFormat;
        switch (body.StreamFormat)
        {
            case null or "audio":
                streamFormat = SpeechStreamFormat.Audio;
                break;
            case "sse":
                streamFormat = SpeechStreamFormat.Sse;
                break;
            default:
                return (null, default, OpenAiError.BadRequest($"Invalid value '{body.StreamFormat}': stream_format is audio or sse.", "stream_format", "invalid_value"));
        }

        var (request, error) = await validator.Validate(new SynthesizeBody
        {
            Text = body.Input,
            VoiceId = options.Resolve(body.Voice),
            Format = format,
            SampleRate = SampleRate,
            Priority = priority, // none: normal, or high for a premium caller (the validator's default)
            Speed = body.Speed,
        }, caller);
        return error switch
        {
            null => (request! with { Streamed = true }, streamFormat, null),
            { Code: "invalid_voice_id" or "voice_not_found" } => (null, default, OpenAiError.BadRequest(
                $"Voice '{body.Voice}' is not available: use one of {string.Join(", ", OpenAiOptions.OpenAiVoiceNames)}, or a MitTts voice id (GET /v1/audio/voices).", "voice", error.Code)),
            { Code: "speed_out_of_range" } => (null, default, OpenAiError.BadRequest(
                "speed must be between 0.5 and 2.0 on this server (OpenAI's 0.25 to 4.0 is wider).", "speed", error.Code)),
            _ => (null, default, OpenAiError.From(error)),
        };
    }

    /// <summary>OpenAI's format name as ours; null for one this server does not produce.</summary>
    private static string? ResponseFormat(string? name) => name switch
    {
        null or "mp3" => "mp3",
        "opus" => "ogg",
        "wav" => "wav",
        "pcm" => "pcm",
        "flac" => "flac",
        "aac" => "aac",
        _ => null,
    };

    private static async Task<OpenAiList<OpenAiVoice>> ListVoices(VoiceCache cache, IOptions<OpenAiOptions> options)
    {
        var catalogue = await cache.All();
        var byId = new Dictionary<string, VoiceInfo>(StringComparer.Ordinal);
        foreach (var voice in catalogue)
        {
            byId[voice.Id] = voice;
        }

        var voices = new List<OpenAiVoice>(OpenAiOptions.OpenAiVoiceNames.Count + catalogue.Count);
        foreach (var name in OpenAiOptions.OpenAiVoiceNames)
        {
            var mapped = options.Value.Resolve(name);
            var voice = byId.GetValueOrDefault(mapped);
            voices.Add(new OpenAiVoice(name, name, mapped, voice?.Language, voice?.Gender, voice?.IsAvailable ?? false));
        }

        foreach (var voice in catalogue)
        {
            voices.Add(new OpenAiVoice(voice.Id, voice.Name, voice.Id, voice.Language, voice.Gender, voice.IsAvailable));
        }

        return new OpenAiList<OpenAiVoice>(voices);
    }
}
