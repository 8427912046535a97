using MitTts.Gateway.Contracts;
using MitTts.Grains.Interfaces;

namespace MitTts.Gateway.WebSockets;

/// <summary>Streaming text (LLM tokens): <c>text</c> fragments per context, <c>flush</c> and <c>end</c>; the session's channel cuts
/// them into sentences and names the tasks.</summary>
public sealed partial class WebSocketConnection
{
    private bool _textStarted;

    private async Task AppendText(TextMessage message)
    {
        if (string.IsNullOrEmpty(message.ContextId))
        {
            _outbox.Send(new ErrorMessage("context_id_required", "A text message needs a context_id.", message.RequestId, "context_id"));
            return;
        }

        if (message.Text is null)
        {
            _outbox.Send(new ErrorMessage("text_required", "A text message needs text (a fragment is fine).", message.RequestId, "text", ContextId: message.ContextId));
            return;
        }

        if (message.Text.Length > _validator.MaxTextLength)
        {
            _outbox.Send(new ErrorMessage("text_too_long", $"One text message carries at most {_validator.MaxTextLength} characters.", message.RequestId, "text",
                ContextId: message.ContextId));
            return;
        }

        if (message.Ssml == true)
        {
            // Markup cannot be cut into sentences as it arrives (a tag may span fragments, a sentence may sit inside one).
            _outbox.Send(new ErrorMessage("ssml_not_supported", "A text context takes plain text; send SSML whole with synthesize (ssml: true).",
                message.RequestId, "ssml", ContextId: message.ContextId));
            return;
        }

        // The context's voice and format are validated like a synthesize request (with placeholder text).
        var (template, error) = await _validator.Validate(
            Body("-", message.VoiceId, message.Format, message.Priority, message.SampleRate, message.Bitrate, message.Speed, message.Pitch, language: message.Language), _guard.Caller);
        if (error is not null)
        {
            _outbox.Send(new ErrorMessage(error.Code, error.Message, message.RequestId, error.Field, ContextId: message.ContextId));
            return;
        }

        await EnsureSession(_outbox.Closing);
        var options = new TextContextOptions(template! with { WordTimestamps = message.Timestamps ?? false, Store = message.Store ?? false, Owner = _guard.Caller!.UserId, Uncounted = Uncounted }, message.RequestId);
        // The session's first text message hands the channel the socket's id announced ahead, so the first sentence need not wait for
        // a task grain to hear of it (in a cluster a new activation); the socket announces another for its next synthesize.
        var spare = _textStarted ? null : _announcer.HandOver();
        _textStarted = true;
        var appending = _channel!.AppendText(message.ContextId, message.Text, options, spare);
        if (spare is not null)
        {
            _announcer.Prepare();
        }

        var result = await appending;
        ReportTextResult(result, message.RequestId, message.ContextId);
    }

    private async Task FlushText(string? contextId, string? requestId, bool close)
    {
        if (string.IsNullOrEmpty(contextId))
        {
            _outbox.Send(new ErrorMessage("context_id_required", "flush and end need a context_id.", requestId, "context_id"));
            return;
        }

        if (_channel is null)
        {
            _outbox.Send(new ErrorMessage("context_not_found", $"No open text context '{contextId}'.", requestId, "context_id", ContextId: contextId));
            return;
        }

        var result = await _channel.FlushText(contextId, close);
        ReportTextResult(result, requestId, contextId);
    }

    /// <summary>Text contexts name their tasks in the channel, so a client meets them in their <c>processing</c> status; only refusals are reported here.</summary>
    private void ReportTextResult(TextAppendResult result, string? requestId, string contextId)
    {
        foreach (var task in result.Tasks)
        {
            ReportRefused(task, requestId, contextId);
        }

        if (result.Error is { IsBusy: false } error)
        {
            _outbox.Send(new ErrorMessage(error.Code, error.Message, requestId, "context_id", ContextId: contextId));
        }
    }
}
