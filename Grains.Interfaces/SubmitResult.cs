namespace MitTts.Grains.Interfaces;

/// <summary>What submitting a task did: <see cref="TaskAccepted"/> or <see cref="TaskRefused"/>.</summary>
[GenerateSerializer, Immutable]
public abstract record SubmitResult([property: Id(0)] string TaskId);

/// <summary>The task was accepted: queued (or already running, or answered from the cache).</summary>
[GenerateSerializer, Immutable]
public sealed record TaskAccepted(string TaskId, [property: Id(0)] TaskSnapshot Task) : SubmitResult(TaskId);

/// <summary>The task was refused and never existed: nothing is stored, and a <see cref="TaskError.Busy"/> refusal says when to retry.</summary>
[GenerateSerializer, Immutable]
public sealed record TaskRefused(string TaskId, [property: Id(0)] TaskError Error) : SubmitResult(TaskId);
