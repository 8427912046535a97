using System.Globalization;
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

    static OnnxSessionFactory()
    {
        // Sessions log errors only; ONNX Runtime's process-wide logger also warned once per convolution node that cuDNN runs in its
        // fallback mode (over a hundred lines a session on an H200, at the speeds the README gives).
        OrtEnv.Instance().EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;
    }

    public OnnxSessionFactory(OnnxDeviceOptions options)
        : this(options, (session, deviceId) => AppendCuda(session, deviceId, options))
    {
    }

    /// <summary>The CUDA provider options a <c>cuda:N</c> device gets unless its <see cref="OnnxDeviceOptions.CudaProviderOptions"/> say
    /// otherwise.</summary>
    /// <remarks>Measured on an H200 with models of Piper medium's and Kokoro-82M's size (<c>bench/results/neural-cuda.md</c>):
    /// <list type="bullet">
    /// <item>cuDNN's default convolution algorithm, not ONNX Runtime's exhaustive search, which times every algorithm for every new input
    /// shape. A speech model sees a new length with nearly every sentence: each such inference took about 1 s with the search, 0.1 s
    /// without.</item>
    /// <item>No TF32: with it a Kokoro model's durations rounded differently from the CPU's and its audio came out 600 samples longer;
    /// without it the audio matches the CPU's, at no cost measured at these sizes.</item>
    /// </list></remarks>
    public static IReadOnlyDictionary<string, string> DefaultCudaProviderOptions { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["cudnn_conv_algo_search"] = "DEFAULT",
        ["use_tf32"] = "0",
    };

    /// <summary>The CUDA provider options of GPU <paramref name="deviceId"/>: <see cref="DefaultCudaProviderOptions"/>, the device's own over
    /// them, and its <c>device_id</c>.</summary>
    internal static Dictionary<string, string> CudaProviderValues(int deviceId, OnnxDeviceOptions device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var values = new Dictionary<string, string>(DefaultCudaProviderOptions, StringComparer.Ordinal);
        foreach (var (key, value) in device.CudaProviderOptions ?? new Dictionary<string, string>())
        {
            values[key] = value;
        }

        values["device_id"] = deviceId.ToString(CultureInfo.InvariantCulture);
        return values;
    }

    /// <summary>Adds the CUDA provider for GPU <paramref name="deviceId"/> with <see cref="CudaProviderValues"/>.</summary>
    /// <exception cref="OnnxRuntimeException">The provider cannot load, or an option is unknown or has a bad value.</exception>
    internal static void AppendCuda(SessionOptions session, int deviceId, OnnxDeviceOptions device)
    {
        ArgumentNullException.ThrowIfNull(session);
        using var cuda = new OrtCUDAProviderOptions();
        cuda.UpdateOptions(CudaProviderValues(deviceId, device));
        session.AppendExecutionProvider_CUDA(cuda);
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
