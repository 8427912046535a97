using Microsoft.ML.OnnxRuntime;

namespace MitTts.Speech.Engines.Onnx;

/// <summary>Runs a session with cancellation mapped to <see cref="RunOptions.Terminate"/>, which ONNX Runtime checks between nodes.</summary>
internal static class OnnxInference
{
    public static IDisposableReadOnlyCollection<OrtValue> Run(
        InferenceSession session,
        IReadOnlyCollection<string> inputNames,
        IReadOnlyCollection<OrtValue> inputs,
        IReadOnlyCollection<string> outputNames,
        CancellationToken cancellationToken)
    {
        using var runOptions = new RunOptions();

        // An already cancelled token sets the flag at once, and ONNX Runtime refuses the run before its first node.
        using var registration = cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, runOptions);
        try
        {
            return session.Run(runOptions, inputNames, inputs, outputNames);
        }
        catch (OnnxRuntimeException e) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The inference was terminated.", e, cancellationToken);
        }
    }
}
