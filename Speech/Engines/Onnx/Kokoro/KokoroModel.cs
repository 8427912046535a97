using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MitTts.Speech.Engines.Onnx.Kokoro;

/// <summary>A loaded Kokoro-82M model: <c>tokens</c> int64 [1, N] (0 at both ends), <c>style</c> float [1, 256], <c>speed</c> float [1];
/// float audio at 24 kHz out. Thread-safe: ONNX Runtime sessions take concurrent runs.</summary>
public sealed class KokoroModel : IDisposable
{
    public const int SampleRate = 24000;

    private readonly InferenceSession _session;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;

    public KokoroModel(InferenceSession session)
    {
        ArgumentNullException.ThrowIfNull(session);

        // kokoro-v1.0.onnx calls its ids "tokens"; some later exports call them "input_ids".
        var tokens = session.InputMetadata.ContainsKey("tokens") ? "tokens"
            : session.InputMetadata.ContainsKey("input_ids") ? "input_ids"
            : throw new InvalidDataException("The model has no 'tokens' input; Kokoro models take tokens, style and speed.");
        foreach (var name in (ReadOnlySpan<string>)["style", "speed"])
        {
            if (!session.InputMetadata.ContainsKey(name))
            {
                throw new InvalidDataException($"The model has no '{name}' input; Kokoro models take tokens, style and speed.");
            }
        }

        if (session.InputMetadata["speed"].ElementDataType != TensorElementType.Float)
        {
            throw new InvalidDataException("The model's 'speed' input is not float; only kokoro-v1.0's float speed is supported.");
        }

        _session = session;
        _inputNames = [tokens, "style", "speed"];
        _outputNames = [session.OutputNames[0]];
    }

    /// <exception cref="InvalidDataException">The file is not a Kokoro model ONNX Runtime can load; the message names it.</exception>
    public static KokoroModel Open(string modelPath, OnnxSessionFactory sessions)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        return sessions.OpenModel(modelPath, static session => new KokoroModel(session));
    }

    /// <summary>Synthesizes at most <see cref="KokoroVocabulary.MaxTokens"/> tokens with one style vector.</summary>
    public float[] Synthesize(ReadOnlySpan<long> tokens, ReadOnlySpan<float> style, float speed, CancellationToken cancellationToken = default)
    {
        if (tokens.Length > KokoroVocabulary.MaxTokens)
        {
            throw new ArgumentException($"{tokens.Length} tokens: one Kokoro run takes at most {KokoroVocabulary.MaxTokens}.", nameof(tokens));
        }

        if (style.Length != KokoroVoicePack.StyleSize)
        {
            throw new ArgumentException($"A style vector has {KokoroVoicePack.StyleSize} values, not {style.Length}.", nameof(style));
        }

        var padded = new long[tokens.Length + 2];
        tokens.CopyTo(padded.AsSpan(1));
        using var tokenValue = OrtValue.CreateTensorValueFromMemory(padded, [1, padded.Length]);
        using var styleValue = OrtValue.CreateTensorValueFromMemory(style.ToArray(), [1, KokoroVoicePack.StyleSize]);
        using var speedValue = OrtValue.CreateTensorValueFromMemory(new[] { speed }, [1]);
        using var outputs = OnnxInference.Run(_session, _inputNames, [tokenValue, styleValue, speedValue], _outputNames, cancellationToken);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    public void Dispose() => _session.Dispose();
}
