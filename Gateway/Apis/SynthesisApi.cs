using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using MitTts.Gateway.Contracts;
using MitTts.Gateway.Security;
using MitTts.Gateway.Telemetry;
using MitTts.Grains.Interfaces;
using Serilog;

namespace MitTts.Gateway.Apis;

/// <summary><c>POST /synthesize</c>, <c>GET|DELETE /tasks/{task_id}</c> and <c>GET /audio/{task_id}.{ext}</c>.</summary>
public static partial class SynthesisApi
{
    /// <summary>How long <c>?wait=true</c> holds the request before answering 504 with the task id to poll.</summary>
    private static readonly TimeSpan s_waitLimit = TimeSpan.FromSeconds(120);

    [GeneratedRegex(@"^[A-Za-z0-9_\-]{1,128}$", RegexOptions.CultureInvariant)]
    private static partial Regex TaskIdPattern();

    public static RouteGroupBuilder MapSynthesisApiV1(this RouteGroupBuilder api)
    {
        api.MapPost("/synthesize", Synthesize)
            .WithName("Synthesize")
            .WithSummary("Queue text for synthesis; with ?wait=true, answer with the audio itself.")
            .AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
            {
                // The body is read by hand (to answer bad JSON with our own codes), so describe it here; Accepts() would make routing refuse other content types with a bare 415.
                var schema = await context.GetOrCreateSchemaAsync(typeof(SynthesizeBody), null, cancellationToken);
                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
                };
            })
            .RequireRateLimiting(SecuritySetup.SynthesizeLimit)
            .Produces<SynthesizeResponse>()
            .Produces(StatusCodes.Status200OK, contentType: "audio/wav")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        api.MapGet("/tasks/{task_id}", GetTask)
            .WithName("GetTask")
            .WithSummary("A task's status, progress, timestamps and error.")
            .Produces<TaskResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapDelete("/tasks/{task_id}", CancelTask)
            .WithName("CancelTask")
            .WithSummary("Cancel a queued or running task.")
            .Produces<CancelResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        api.MapMethods("/audio/{file}", ServerApi.GetOrHead, GetAudio)
            .WithName("GetAudio")
            .WithSummary("The audio of a completed task, as /audio/{task_id}.{format}.")
            .Produces(StatusCodes.Status200OK, contentType: "audio/wav")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status410Gone);
        return api;
    }

    /// <summary><c>POST /synthesize</c>, <c>GET|DELETE /tasks/{task_id}</c> and <c>GET /audio/{task_id}.{format}</c> at the root too
    /// (<see cref="Hosting.GatewayApplication.MapRootAliases"/>): the seed's example answers <c>"audio_url": "/audio/task_abc123.wav"</c>, so a
    /// client built from it finds the audio there as well as at the <c>audio_url</c> we give. Same answers and rules.</summary>
    public static IEndpointRouteBuilder MapRootSynthesis(this IEndpointRouteBuilder app)
    {
        app.MapPost("/synthesize", Synthesize).RequireRateLimiting(SecuritySetup.SynthesizeLimit);
        app.MapGet("/tasks/{task_id}", GetTask);
        app.MapDelete("/tasks/{task_id}", CancelTask);
        app.MapMethods("/audio/{file}", ServerApi.GetOrHead, GetAudio);
        return app;
    }

    private static async Task<IResult> Synthesize(
        HttpRequest http,
        IGrainFactory grains,
        SynthesisRequestValidator validator,
        IOptions<JsonOptions> json,
        GatewayMetrics metrics,
        IDiagnosticContext diagnostics,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "wait")] string? waitText,
        CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        if (!TryParseWait(waitText, out var wait))
        {
            return ApiError.BadRequest("invalid_wait", "wait must be true or false (also 1/0, yes/no; a bare ?wait is true).", "wait").ToResult();
        }

        if (ApiError.IsNotJson(http))
        {
            return ApiError.UnsupportedMediaType.ToResult();
        }

        SynthesizeBody? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<SynthesizeBody>(http.Body, json.Value.SerializerOptions, cancellationToken);
        }
        catch (JsonException e)
        {
            var (field, message) = ApiError.DescribeJson(e);
            return ApiError.BadRequest("invalid_json", message, field).ToResult();
        }

        if (body is null)
        {
            return ApiError.BadRequest("invalid_json", "The body must be a JSON object.").ToResult();
        }

        var caller = Caller.From(http.HttpContext);
        var (validated, error) = await validator.Validate(body, caller);
        if (error is not null)
        {
            return error.ToResult();
        }

        if (body.Store is false && !wait)
        {
            return ApiError.BadRequest("store_without_wait", "store:false keeps no audio, and a request that does not wait (?wait=true) "
                + "would never get any: wait for it, or leave store out.", "store").ToResult();
        }

        // ?wait=true answers with the audio itself: keeping a copy for /audio is for callers that ask (the common voice-agent path
        // stores nothing it will never serve).
        var request = validated! with { Store = body.Store ?? !wait, Owner = caller.UserId };

        if (request.SessionId is { } sessionId)
        {
            var session = await grains.GetGrain<ISessionGrain>(sessionId).Open(caller.UserId);
            if (!string.Equals(session.OwnerId, caller.UserId, StringComparison.Ordinal))
            {
                return SessionForbidden(sessionId).ToResult();
            }
        }

        var taskId = "task_" + Guid.NewGuid().ToString("N");
        var limits = http.HttpContext.RequestServices.GetRequiredService<RateLimits>();
        if (!await limits.StartTask(caller.UserId, taskId))
        {
            http.HttpContext.Response.Headers.RetryAfter = "1";
            return new ApiError(StatusCodes.Status429TooManyRequests, RateLimits.TooManyActiveTasks, RateLimits.TooManyActiveTasksMessage)
                .ToResult(new Dictionary<string, object?> { ["retry_after"] = 1 });
        }

        diagnostics.Set("TaskId", taskId);
        diagnostics.Set("TextLength", request.Text.Length);
        var taskGrain = grains.GetGrain<ITaskGrain>(taskId);
        SubmitResult submitted;
        try
        {
            submitted = await taskGrain.Submit(request);
        }
        catch
        {
            limits.EndTask(caller.UserId, taskId);
            throw;
        }

        if (submitted is TaskRefused)
        {
            limits.EndTask(caller.UserId, taskId);
        }

        if (submitted is TaskRefused { Error: { IsBusy: true } busy })
        {
            var retryAfter = (int)Math.Ceiling(busy.RetryAfterSeconds ?? 1);
            http.HttpContext.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
            return new ApiError(StatusCodes.Status429TooManyRequests, TaskError.Busy, busy.Message)
                .ToResult(new Dictionary<string, object?> { ["retry_after"] = retryAfter });
        }

        if (submitted is not TaskAccepted { Task: { Status: not SynthesisStatus.Error } task })
        {
            var failure = submitted is TaskRefused refused ? refused.Error : ((TaskAccepted)submitted).Task.Error;
            return new ApiError(StatusCodes.Status503ServiceUnavailable, failure?.Code ?? "dispatch_failed", failure?.Message ?? "The task could not be queued.")
                .ToResult(new Dictionary<string, object?> { ["task_id"] = taskId });
        }

        if (wait)
        {
            var answer = await WaitForAudio(taskGrain, taskId, request.Store, http.HttpContext.Response, cancellationToken);
            if (answer is AudioFileResult)
            {
                metrics.FirstAudioAnswered(started);
            }

            return answer;
        }

        http.HttpContext.Response.Headers.Location = $"/api/v1/tasks/{taskId}";
        return TypedResults.Ok(new SynthesizeResponse(
            taskId, TaskResponses.Name(task.Status), Math.Round(task.EstimatedSeconds, 3), TaskResponses.AudioUrl(taskId, request.Format), task.QueuePosition));
    }

    private static async Task<IResult> WaitForAudio(ITaskGrain taskGrain, string taskId, bool kept, HttpResponse response, CancellationToken cancellationToken)
    {
        TaskOutcome? finished;
        try
        {
            finished = await taskGrain.WaitForResult().WaitAsync(s_waitLimit, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !kept)
        {
            // The caller hung up before its answer, and the audio is kept nowhere else (it never had the task id either): the synthesis
            // stops rather than run for nobody, holding the device and the caller's active-task slot.
            await taskGrain.Cancel();
            throw;
        }
        catch (TimeoutException)
        {
            return new ApiError(StatusCodes.Status504GatewayTimeout, "wait_timeout", $"Task {taskId} is still running; poll /api/v1/tasks/{taskId}.")
                .ToResult(new Dictionary<string, object?> { ["task_id"] = taskId });
        }

        if (finished is { Task: { Status: SynthesisStatus.Cancelled, Error: { } stopped } } && stopped.Code == TaskError.ServerStopping.Code)
        {
            // Not the caller's cancel: the server went away under it, and the same request sent again (to another node, or this one
            // once back) is served.
            response.Headers.RetryAfter = "1";
            return new ApiError(StatusCodes.Status503ServiceUnavailable, stopped.Code, $"The server stopped before task {taskId} finished; send the request again.")
                .ToResult(new Dictionary<string, object?> { ["task_id"] = taskId, ["retry_after"] = 1 });
        }

        if (finished is not { Task.Status: SynthesisStatus.Completed, Audio: { } audio })
        {
            var failure = finished is null ? ApiError.NotFound("task_not_found", $"Task {taskId} expired.") : TaskResponses.NotServable(finished.Task);
            return failure.ToResult(new Dictionary<string, object?> { ["task_id"] = taskId });
        }

        return new AudioFileResult(audio, taskId);
    }

    /// <summary>A session id another user holds: the caller must pick another one.</summary>
    public static ApiError SessionForbidden(string sessionId) =>
        new(StatusCodes.Status403Forbidden, "session_forbidden", $"Session '{sessionId}' belongs to another user; use another session_id.", "session_id");

    private static async Task<IResult> GetTask(string task_id, IGrainFactory grains, HttpContext http)
    {
        if (!TaskIdPattern().IsMatch(task_id))
        {
            return ApiError.BadRequest("invalid_task_id", "task_id must be 1 to 128 letters, digits, _ or -.", "task_id").ToResult();
        }

        var task = await grains.GetGrain<ITaskGrain>(task_id).GetSnapshot();
        return task is null || !Caller.From(http).CanSee(task.Request.Owner)
            ? ApiError.NotFound("task_not_found", $"No task '{task_id}' (unknown, or its result expired).", "task_id").ToResult()
            : TypedResults.Ok(TaskResponses.From(task));
    }

    private static async Task<IResult> CancelTask(string task_id, IGrainFactory grains, HttpContext http)
    {
        if (!TaskIdPattern().IsMatch(task_id))
        {
            return ApiError.BadRequest("invalid_task_id", "task_id must be 1 to 128 letters, digits, _ or -.", "task_id").ToResult();
        }

        var grain = grains.GetGrain<ITaskGrain>(task_id);
        var caller = Caller.From(http);

        // Another user's task is no one's here: not found, whether it exists or not.
        if (caller.UserId is not null && await grain.GetSnapshot() is { } owned && !caller.CanSee(owned.Request.Owner))
        {
            return ApiError.NotFound("task_not_found", $"No task '{task_id}'.", "task_id").ToResult();
        }

        if (await grain.Cancel())
        {
            return TypedResults.Ok(new CancelResponse(task_id, TaskResponses.Name(SynthesisStatus.Cancelled)));
        }

        var task = await grain.GetSnapshot();
        return task is null
            ? ApiError.NotFound("task_not_found", $"No task '{task_id}'.", "task_id").ToResult()
            : ApiError.Conflict("task_finished", $"Task {task_id} already {TaskResponses.Name(task.Status)}.").ToResult();
    }

    /// <summary><c>?wait</c>: true, false, 1, 0, yes or no (any case); absent is false, a bare <c>?wait</c> true.</summary>
    private static bool TryParseWait(string? text, out bool wait)
    {
        wait = text is not null && (text.Length == 0 || text is "1" || text.Equals("true", StringComparison.OrdinalIgnoreCase)
            || text.Equals("yes", StringComparison.OrdinalIgnoreCase));
        return wait || text is null or "0" || text.Equals("false", StringComparison.OrdinalIgnoreCase) || text.Equals("no", StringComparison.OrdinalIgnoreCase);
    }

    private static async Task<IResult> GetAudio(string file, IGrainFactory grains, HttpContext http)
    {
        var dot = file.LastIndexOf('.');
        var taskId = dot > 0 ? file[..dot] : file;
        var extension = dot > 0 ? file[(dot + 1)..] : string.Empty;
        if (!TaskIdPattern().IsMatch(taskId))
        {
            return ApiError.BadRequest("invalid_task_id", "Audio URLs look like /api/v1/audio/{task_id}.{format}.", "task_id").ToResult();
        }

        if (!SynthesisRequestValidator.TryParseFormat(extension, out var format) || extension.Length == 0)
        {
            return ApiError.BadRequest("unsupported_format", $"The extension must be one of: {string.Join(", ", SynthesisRequestValidator.FormatNames)}.", "format").ToResult();
        }

        var grain = grains.GetGrain<ITaskGrain>(taskId);
        var task = await grain.GetSnapshot();
        if (task is null || !Caller.From(http).CanSee(task.Request.Owner))
        {
            return ApiError.NotFound("task_not_found", $"No task '{taskId}' (unknown, or its result expired).", "task_id").ToResult();
        }

        if (task.Request.Format != format)
        {
            var actual = task.Request.Format.ToString().ToLowerInvariant();
            return ApiError.NotFound("audio_not_found", $"Task {taskId} was synthesized as {actual}: use {TaskResponses.AudioUrl(taskId, task.Request.Format)}.", "format").ToResult();
        }

        if (task is not { Status: SynthesisStatus.Completed, Audio: ResultAudio.Kept } || await grain.GetAudio() is not { } audio)
        {
            return TaskResponses.NotServable(task).ToResult(new Dictionary<string, object?> { ["task_status"] = TaskResponses.Name(task.Status) });
        }

        return new AudioFileResult(audio, taskId);
    }

    /// <summary>The audio bytes, with headers saying which task and how long.</summary>
    private sealed class AudioFileResult(AudioResult audio, string taskId) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            var headers = httpContext.Response.Headers;
            headers["X-Task-Id"] = taskId;
            headers["X-Audio-Duration"] = audio.DurationSeconds.ToString("0.###", CultureInfo.InvariantCulture);
            headers["X-Sample-Rate"] = audio.SampleRate.ToString(CultureInfo.InvariantCulture);
            return TypedResults.File(audio.Data, audio.ContentType, $"{taskId}.{audio.FileExtension}", enableRangeProcessing: true).ExecuteAsync(httpContext);
        }
    }
}
