using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MitTts.Speech.Engines.Onnx.Piper;

/// <summary>One sentence of a batch: its phoneme ids and, for a multi-speaker model, its speaker.</summary>
public readonly record struct PiperUtterance(long[] PhonemeIds, long SpeakerId = 0);

/// <summary>A loaded Piper (VITS) model: <c>input</c> int64 [B, N], <c>input_lengths</c> int64 [B], <c>scales</c> float [3], optional
/// <c>sid</c> int64 [B]; float audio out. Thread-safe: ONNX Runtime sessions take concurrent runs.</summary>
public sealed class PiperModel : IDisposable
{
    private const string InputName = "input";
    private const string LengthsName = "input_lengths";
    private const string ScalesName = "scales";
    private const string SpeakerName = "sid";

    // Below half a 16-bit step a sample is silence once converted: what VITS makes of a padded row's masked tail.
    private const float SilenceThreshold = 0.5f / short.MaxValue;

    private readonly InferenceSession _session;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly bool _hasSpeakerInput;
    private readonly bool _hasLengthsOutput;

    public PiperModel(InferenceSession session, PiperVoiceConfig config)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(config);
        foreach (var name in (ReadOnlySpan<string>)[InputName, LengthsName, ScalesName])
        {
            if (!session.InputMetadata.ContainsKey(name))
            {
                throw new InvalidDataException($"The model has no '{name}' input; Piper models take input, input_lengths, scales and sid.");
            }
        }

        _session = session;
        Config = config;
        _hasSpeakerInput = session.InputMetadata.ContainsKey(SpeakerName);
        _inputNames = _hasSpeakerInput ? [InputName, LengthsName, ScalesName, SpeakerName] : [InputName, LengthsName, ScalesName];

        // The audio is the first float output; an int64 output beside it, where an export adds one, is each row's length in samples.
        var audio = session.OutputMetadata.FirstOrDefault(o => o.Value.ElementDataType == TensorElementType.Float).Key
            ?? throw new InvalidDataException("The model has no float output.");
        var lengths = session.OutputMetadata.FirstOrDefault(o => o.Value.ElementDataType == TensorElementType.Int64).Key;
        _hasLengthsOutput = lengths is not null;
        _outputNames = lengths is null ? [audio] : [audio, lengths];
    }

    public PiperVoiceConfig Config { get; }

    /// <summary>Whether the model takes a speaker id (<c>sid</c>).</summary>
    public bool IsMultiSpeaker => _hasSpeakerInput;

    /// <summary>Opens <c>NAME.onnx</c> with its <c>NAME.onnx.json</c> on <paramref name="sessions"/>' device.</summary>
    /// <exception cref="InvalidDataException">The config or the model is not a usable Piper voice (the message names the file).</exception>
    public static PiperModel Open(string modelPath, OnnxSessionFactory sessions)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        var config = PiperVoiceConfig.Load(modelPath + ".json");
        return sessions.OpenModel(modelPath, session => new PiperModel(session, config));
    }

    /// <summary>Synthesizes every utterance in one inference (a batch of <c>B</c> rows padded to the longest) and returns each row's
    /// audio: cut to the model's own lengths where it gives them, else with the padded rows' silent tails trimmed.</summary>
    /// <remarks>All rows share <paramref name="scales"/>: the model takes one <c>scales</c> tensor per run.</remarks>
    public float[][] Synthesize(IReadOnlyList<PiperUtterance> batch, PiperScales scales, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return [];
        }

        var rows = batch.Count;
        var width = 0;
        for (var i = 0; i < rows; i++)
        {
            width = Math.Max(width, batch[i].PhonemeIds.Length);
        }

        // Pad with id 0: VITS masks everything past each row's input_lengths.
        var ids = new long[rows * width];
        var lengths = new long[rows];
        var speakers = new long[rows];
        for (var i = 0; i < rows; i++)
        {
            batch[i].PhonemeIds.CopyTo(ids, i * width);
            lengths[i] = batch[i].PhonemeIds.Length;
            speakers[i] = batch[i].SpeakerId;
        }

        using var input = OrtValue.CreateTensorValueFromMemory(ids, [rows, width]);
        using var inputLengths = OrtValue.CreateTensorValueFromMemory(lengths, [rows]);
        using var scaleValues = OrtValue.CreateTensorValueFromMemory(new[] { scales.NoiseScale, scales.LengthScale, scales.NoiseW }, [3]);
        using var sid = _hasSpeakerInput ? OrtValue.CreateTensorValueFromMemory(speakers, [rows]) : null;
        OrtValue[] inputs = sid is null ? [input, inputLengths, scaleValues] : [input, inputLengths, scaleValues, sid];

        using var outputs = OnnxInference.Run(_session, _inputNames, inputs, _outputNames, cancellationToken);
        var audio = outputs[0].GetTensorDataAsSpan<float>();
        var perRow = audio.Length / rows;
        var modelLengths = _hasLengthsOutput ? outputs[1].GetTensorDataAsSpan<long>() : default;

        var result = new float[rows][];
        for (var i = 0; i < rows; i++)
        {
            var row = audio.Slice(i * perRow, perRow);
            var length = _hasLengthsOutput && modelLengths.Length == rows
                ? (int)Math.Clamp(modelLengths[i], 0, perRow)
                : rows == 1 ? perRow : WithoutSilentTail(row);
            result[i] = row[..length].ToArray();
        }

        return result;
    }

    private static int WithoutSilentTail(ReadOnlySpan<float> row)
    {
        var end = row.Length;
        while (end > 0 && MathF.Abs(row[end - 1]) < SilenceThreshold)
        {
            end--;
        }

        return end;
    }

    public void Dispose() => _session.Dispose();
}
