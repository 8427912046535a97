namespace MitTts.Grains.Interfaces;

/// <summary>A validated request to turn text into speech.</summary>
/// <remarks><see cref="SampleRate"/> null means the voice's own rate (8000 for mulaw and alaw); <see cref="Bitrate"/> is the
/// mp3 or ogg bitrate in kbps, null for the format's default. A <see cref="Streamed"/> request sends its audio, as it is made, to the
/// ordered audio channel of its session (<see cref="IAudioChannelGrain"/>) instead of only keeping the whole file; <see cref="WordTimestamps"/>
/// adds each word's start and end to that stream. <see cref="Store"/> keeps the finished audio for <c>/audio/{task_id}</c> (in the result
/// store, for the result TTL); without it the audio goes only to whoever waits for it or streams it. <see cref="Owner"/> is the user
/// (the access token's <c>sub</c>) the task belongs to; null when auth is off. <see cref="Ssml"/>: <see cref="Text"/> is an SSML
/// document (validated by the gateway), spoken by espeak-ng's own SSML reader as one unit. <see cref="Uncounted"/>: the gateway's own
/// warm-up, kept out of the scheduler's and the synthesis metrics and the device's counts (it is not a caller's work).</remarks>
[GenerateSerializer, Immutable]
public sealed record SynthesisRequest(
    [property: Id(0)] string Text,
    [property: Id(1)] string VoiceId,
    [property: Id(2)] AudioFormat Format,
    [property: Id(3)] Priority Priority,
    [property: Id(4)] string? SessionId,
    [property: Id(5)] double Speed,
    [property: Id(6)] double Pitch,
    [property: Id(7)] int? SampleRate = null,
    [property: Id(8)] int? Bitrate = null,
    [property: Id(9)] bool Streamed = false,
    [property: Id(10)] bool WordTimestamps = false,
    [property: Id(11)] bool Store = true,
    [property: Id(12)] string? Owner = null,
    [property: Id(13)] bool Ssml = false,
    [property: Id(14)] bool Uncounted = false);
