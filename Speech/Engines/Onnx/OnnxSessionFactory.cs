using Microsoft.ML.OnnxRuntime;

namespace MitTts.Speech.Engines.Onnx;

/// <summary>Opens ONNX Runtime sessions for one device: the CUDA execution provider for <c>cuda:N</c>, the CPU one otherwise.</summary>
/// <remarks>Whether CUDA loads is found once, when the factory is made, so every session of a device runs on the same provider and
/// <see cref="FallbackReason"/> can be shown in <c>/status</c>.</remarks>
public sealed class OnnxSessionFactory
{
    public const string CudaProvider = "CUDAExecutionProvider";
    public const string CpuProvider = "CPUExecutionProvider";

    private readonly OnnxDeviceOptions _options;
    private readonly Action<SessionOptions, int> _appendCuda;

    public OnnxSessionFactory(OnnxDeviceOptions options)
        : this(options, static (session, deviceId) => session.AppendExecutionProvider_CUDA(deviceId))
    {
    }

    /// <param name="options">The device.</param>
    /// <param name="appendCuda">Adds the CUDA provider to session options; a test replaces it to script a GPU that loads or fails.</param>
    /// <exception cref="SpeechEngineUnavailableException">CUDA was asked for, cannot load, and falling back to CPU is off.</exception>
    internal OnnxSessionFactory(OnnxDeviceOptions options, Action<SessionOptions, int> appendCuda)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _appendCuda = appendCuda;
        var cuda = options.CudaDeviceId;
        if (cuda is null)
        {
            ExecutionProvider = CpuProvider;
            return;
        }

        // Appending the provider is where ONNX Runtime dlopens libonnxruntime_providers_cuda.so and its CUDA/cuDNN libraries.
        using var probe = new SessionOptions();
        try
        {
            appendCuda(probe, cuda.Value);
            ExecutionProvider = CudaProvider;
        }
        catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
        {
            var reason = $"The CUDA execution provider for {options.Device} could not be loaded: {e.Message}";
            if (!options.FallBackToCpu)
            {
                throw new SpeechEngineUnavailableException(reason, e);
            }

            ExecutionProvider = CpuProvider;
            FallbackReason = reason + " Running on CPU instead.";
        }
    }

    /// <summary>The device these sessions were asked for.</summary>
    public OnnxDeviceOptions Options => _options;

    /// <summary>The provider the sessions run on: <see cref="CudaProvider"/> or <see cref="CpuProvider"/>.</summary>
    public string ExecutionProvider { get; }

    /// <summary>Why a CUDA device runs on CPU; null when it runs where it was asked to.</summary>
    public string? FallbackReason { get; }

    /// <summary>Opens <paramref name="modelPath"/> on this factory's provider.</summary>
    public InferenceSession Open(string modelPath)
    {
        using var options = CreateSessionOptions();
        return new InferenceSession(modelPath, options);
    }

    /// <summary>Opens a model and wraps its session (<paramref name="wrap"/> checks its inputs and outputs); the session is disposed when
    /// the check fails.</summary>
    /// <exception cref="InvalidDataException">ONNX Runtime cannot load the file, or it is not the model <paramref name="wrap"/> expects;
    /// the message names the file.</exception>
    public T OpenModel<T>(string modelPath, Func<InferenceSession, T> wrap)
    {
        ArgumentNullException.ThrowIfNull(wrap);
        InferenceSession session;
        try
        {
            session = Open(modelPath);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"{modelPath}: ONNX Runtime cannot load it: {e.Message}", e);
        }

        try
        {
            return wrap(session);
        }
        catch (InvalidDataException e)
        {
            session.Dispose();
            throw new InvalidDataException($"{modelPath}: {e.Message}", e);
        }
    }

    private SessionOptions CreateSessionOptions()
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        try
        {
            if (_options.IntraOpNumThreads > 0)
            {
                options.IntraOpNumThreads = _options.IntraOpNumThreads;
            }

            if (ExecutionProvider == CudaProvider)
            {
                _appendCuda(options, _options.CudaDeviceId!.Value);
            }

            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }
}
