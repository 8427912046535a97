using MitTts.Gateway.Contracts;
using MitTts.Gateway.Security;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.Apis;

/// <summary><c>GET /sessions/{session_id}</c>: a session's owner, activity and unfinished REST tasks, and how far its stream has got (the
/// number a socket resumes after).</summary>
public static class SessionsApi
{
    public static RouteGroupBuilder MapSessionsApiV1(this RouteGroupBuilder api)
    {
        api.MapGet("/sessions/{session_id}", GetSession)
            .WithName("GetSession")
            .WithSummary("A session: its owner, creation and last activity, unfinished REST tasks, and its stream's last sequence number.")
            .Produces<SessionResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return api;
    }

    private static async Task<IResult> GetSession(string session_id, IGrainFactory grains, HttpContext http)
    {
        if (!SynthesisRequestValidator.SessionIdPattern().IsMatch(session_id))
        {
            return ApiError.BadRequest("invalid_session_id", "session_id must be 1 to 128 letters, digits or _ . : -", "session_id").ToResult();
        }

        // Another user's session is no one's here: not found, as for one that never existed (no existence leak).
        var session = await grains.GetGrain<ISessionGrain>(session_id).GetSnapshot();
        if (session is null || !Caller.From(http).CanSee(session.OwnerId))
        {
            return ApiError.NotFound("session_not_found", $"No session '{session_id}' (unknown, or cleaned up after idling).", "session_id").ToResult();
        }

        // Asked only of a session that exists: a channel answers from memory, or comes back from its save.
        var channel = grains.GetGrain<IAudioChannelGrain>(session_id);
        var window = await channel.GetWindow();
        var inUse = await channel.IsInUse();
        return TypedResults.Ok(new SessionResponse(
            session.SessionId, session.OwnerId, session.CreatedAt, session.LastActivity, session.ActiveTaskIds, session.CompletedTaskCount,
            window.Last, inUse));
    }
}
