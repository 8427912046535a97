using MitTts.Grains.Interfaces;

namespace MitTts.Grains.Synthesis;

/// <summary>What a job will cost: the device's measured engine seconds per character, and per format the encoding of a whole file after
/// its last sentence; a job's queue position and <c>estimated_time</c> come from them.</summary>
public sealed partial class SynthesizerGrain
{
    // A first guess of espeak-ng's cost per character, replaced by the first measurement and eased by the next ones.
    private const double InitialSecondsPerCharacter = 0.0002;
    private const double MeasurementWeight = 0.2;

    // The least estimate given: even audio at hand takes a round trip to reach its caller.
    private const double MinimumEstimateSeconds = 0.001;

    private double _secondsPerCharacter = InitialSecondsPerCharacter;
    private bool _measured;

    // Encoding a whole file after its last sentence (MP3, Opus, AAC: often longer than the speech itself), by format: seconds spent and
    // characters encoded, both fading by EncodeKept at each measurement. Their ratio weighs jobs by length, so a file's fixed cost
    // (the encoder's set-up) measured on a short text is not multiplied by the length of a long one: charged per character, one
    // 109-character FLAC file made every estimate of a 3,500-character one 100 times too long.
    private const double EncodeKept = 0.8;
    private readonly (double Seconds, double Characters)[] _encodeCost = new (double, double)[Enum.GetValues<AudioFormat>().Length];

    private double WorkAheadSeconds()
    {
        return (RunningCharacters() + _queue.RemainingCharacters) * _secondsPerCharacter;
    }

    /// <summary>Characters the running job (or every job of the running batch) has still to speak.</summary>
    private long RunningCharacters()
    {
        long characters = _running is { } running && !_companions.Contains(running) ? running.RemainingCharacters : 0;
        foreach (var job in _companions)
        {
            characters += job.RemainingCharacters;
        }

        return characters;
    }

    /// <summary>Position 0 is the running job; a queued job counts the running one and those served before it.</summary>
    private (int Position, double EstimatedSeconds)? Position(string taskId)
    {
        var characters = RunningCharacters();
        if (_running is { } running)
        {
            if ((running.TaskId == taskId ? running : RunningCompanion(taskId)) is { } spoken)
            {
                return (0, Estimate(spoken.RemainingCharacters * _secondsPerCharacter, spoken));
            }
        }

        if (_queue.Find(taskId) is { } waiting && _queue.Place(waiting, Now) is { } place)
        {
            return (place.Ahead + (_running is null ? 0 : 1), Estimate((characters + place.Characters) * _secondsPerCharacter, waiting));
        }

        return null;
    }

    private void Measure(int characters, TimeSpan elapsed)
    {
        if (characters > 0)
        {
            // The first measurement replaces the initial guess (made for no machine in particular) rather than easing towards it.
            var measured = elapsed.TotalSeconds / characters;
            _secondsPerCharacter = _measured ? _secondsPerCharacter + (MeasurementWeight * (measured - _secondsPerCharacter)) : measured;
            _measured = true;
        }
    }

    /// <summary>Books how long finishing a whole file of <paramref name="format"/> took for <paramref name="characters"/> of text.</summary>
    private void MeasureEncode(AudioFormat format, int characters, TimeSpan elapsed)
    {
        if (characters > 0)
        {
            ref var cost = ref _encodeCost[(int)format];
            cost = ((cost.Seconds * EncodeKept) + elapsed.TotalSeconds, (cost.Characters * EncodeKept) + characters);
        }
    }

    /// <summary>Encoding seconds per character of <paramref name="format"/>: 0 until a file of it has been measured.</summary>
    private double EncodeSecondsPerCharacter(AudioFormat format)
    {
        var cost = _encodeCost[(int)format];
        return cost.Characters > 0 ? cost.Seconds / cost.Characters : 0;
    }

    /// <summary>The engine time until <paramref name="job"/> is spoken, plus the encoding of its file after it (a whole job).</summary>
    private double Estimate(double engineSeconds, ScheduledJob job)
    {
        var request = job.Job.Request;
        var encode = request.Streamed ? 0 : request.Text.Length * EncodeSecondsPerCharacter(request.Format);
        return Math.Max(MinimumEstimateSeconds, engineSeconds + encode);
    }
}
